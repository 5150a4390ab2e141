# Mosaic gateway image: the compiled build on Node 26, the active LTS line
# (pinned; CI smoke-tests the same line: .ci/run). test/foundation/image.test.ts
# checks that every COPY source below exists after the build stage's steps.
FROM node:26.12.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The sources are not here yet, so `prepare` (the build) runs below instead.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:26.12.0-trixie-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
# The web client's build (served at /; bin/mosaic.js finds it here).
COPY --from=build /app/clients/web/dist ./clients/web/dist
# Named volumes copy the image's ownership on first use, so the unprivileged
# user can write the registration and the embedded database (its lock file
# and admin socket live there too: `docker compose exec mosaic mosaic user …`
# reaches the running server through it).
RUN mkdir -p /registration /app/data && chown node:node /registration /app/data \
  && ln -s /app/bin/mosaic.js /usr/local/bin/mosaic
USER node
EXPOSE 3000 9000
ENTRYPOINT ["node", "bin/mosaic.js"]
CMD ["start"]
