// placeholder; replaced by the bundle step (esbuild) below once entry points exist
