// Vite build of the portal: served under /portal/ by the local runtime (and by S3/CloudFront in
// production), calling the API on the same origin.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  base: '/portal/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    // `npm run dev` proxies the API to a runtime started with `make run`.
    proxy: Object.fromEntries(
      ['/auth', '/me', '/tickets', '/queues', '/public', '/departments', '/districts', '/admin',
        '/calendar', '/openapi.json', '/health', '/stats', '/reports', '/notifications', '/dispatch']
        .map((p) => [p, 'http://127.0.0.1:8000'])),
  },
})
