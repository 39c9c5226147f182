import { defineConfig } from 'vite';

// Preact's JSX through esbuild's automatic runtime: no framework plugin needed.
// `npm run dev` proxies the API and the WebSocket to a running platform (PARLEY_API, default
// http://127.0.0.1:8080), so the dev server's origin behaves like the gateway's.
const api = process.env.PARLEY_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022', chunkSizeWarningLimit: 200 },
  server: {
    proxy: {
      '/v1/ws': { target: api.replace(/^http/, 'ws'), ws: true },
      '/v1': api,
      '/.well-known': api,
    },
  },
});
