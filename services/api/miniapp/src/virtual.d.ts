declare module "virtual:catalogues" {
  const catalogues: Record<string, Record<string, string | Record<string, string>>>;
  export default catalogues;
}
declare module "*.css";
