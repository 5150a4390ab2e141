/** How an admin writes a retention: days, `null` for forever, or `"default"` to remove the override. */
import { z } from 'zod';
import { MAX_RETENTION_DAYS } from './days-word.ts';

export const daysSetting = z
  .union([z.number().int().min(1).max(MAX_RETENTION_DAYS), z.null(), z.literal('default')])
  .describe('Days to keep messages (1–36500), null to keep them forever, or "default" to remove this override.');
