import { defineConfig } from "vitest/config";

// Everything is bundled into dist/ (fonts included): the app must work with no network.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    target: "es2022",
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
  },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.ts"],
  },
});
