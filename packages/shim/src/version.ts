/** The shim's version; the bundler replaces KATA_TS_REVISION with the git revision it was built from. */
export const VERSION = '0.1.0';
export const REVISION = process.env.KATA_TS_REVISION ?? 'dev';
