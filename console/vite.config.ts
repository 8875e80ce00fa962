/**
 * Vite's build of the owner console: console/index.html and src/ into console/dist/ (what `icon console` serves).
 * No inline script or style (the server's Content-Security-Policy forbids them): the module preload polyfill, which
 * Vite would add inline in dev, is off; the built page loads only its own files.
 */
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
  },
});
