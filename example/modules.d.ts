// Text modules bundled by wrangler (see the `rules` of wrangler.jsonc).
declare module "*.html" {
  const text: string;
  export default text;
}
declare module "*/socket.io.min.js" {
  const text: string;
  export default text;
}
