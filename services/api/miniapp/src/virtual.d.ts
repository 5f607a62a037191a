declare module "virtual:catalogues" {
  const catalogues: Record<string, Record<string, string | Record<string, string>>>;
  export default catalogues;
}
declare module "virtual:server-sentences" {
  const sentences: Record<string, Record<string, string>>;
  export default sentences;
}
declare module "*.css";
