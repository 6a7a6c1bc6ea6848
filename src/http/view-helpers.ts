import handlebars from 'handlebars';

/** A Handlebars instance of our own (no global helper registry), with the few helpers the views use. */
export function createHandlebars(): typeof handlebars {
  const hbs = handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('encode', (s: unknown) => encodeURIComponent(String(s)));
  return hbs;
}
