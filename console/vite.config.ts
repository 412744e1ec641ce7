// Builds the admin console into console/dist. The API serves it under /console (api/console/), so
// every asset URL starts with that base; file names carry a content hash, so they are cached forever.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The CSP allows scripts and styles from 'self' only: nothing may be inlined.
    assetsInlineLimit: 0,
    // The entry holds React, react-aria-components, TanStack Query and the router: about 530 kB
    // (165 kB gzipped). The chart library and the operators' views load on first use.
    chunkSizeWarningLimit: 600,
  },
});
