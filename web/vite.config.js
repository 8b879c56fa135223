// Builds the app into dist/ (committed; protolearnd web embeds it): relative paths, so it is
// served from any prefix, and no source maps.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
});
