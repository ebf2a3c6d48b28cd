/**
 * The oldest Node the package runs on (MikroORM 7's own minimum), in a module that imports
 * nothing, so the `swl` executable can check it before anything loads MikroORM.
 * @internal
 */
export const MIN_NODE_VERSION = '22.17.0';
