/** The shapes of the API this page reads (a subset: what it shows). */

// Shared with the terminal client: one definition of the API's shapes.
export type { ChatMessage, Conversation, LiveAnswer, Routing, SessionInfo, Usage } from '../../shared/api-types.ts';

export interface User {
  id: string;
  username: string;
  role: 'admin' | 'member';
}

export interface SessionState {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

export interface Agent {
  id: string;
  name: string;
  displayName?: string | null;
  description?: string | null;
  system?: boolean;
  ownerId?: string | null;
}

export interface ModelInfo {
  provider: string;
  id: string;
  displayName?: string;
  available: boolean;
  unavailableReason?: string;
  tier?: string;
}

