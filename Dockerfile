# Mosaic gateway image: compiled TypeScript on Node 20.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/clients ./clients
# Named volumes copy the image's ownership on first use, so the unprivileged
# user can write the registration and the embedded database.
RUN mkdir -p /registration /app/data && chown node:node /registration /app/data
USER node
EXPOSE 3000 9000
ENTRYPOINT ["node", "bin/mosaic.js"]
CMD ["start"]
