/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The gateway serves the build at /console (dalston/gateway/console.py).
// `npm run dev` proxies the API to a local `dalston serve` on port 8000.
const api = process.env.DALSTON_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/console/',
  plugins: [react(), tailwindcss()],
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/auth', '/health', '/ready', '/metrics'].map((p) => [p, api]),
    ),
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
