// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "out/", "data/", "src/server/store/generated/", "native/build/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // noUncheckedIndexedAccess makes every typed-array read optional; `!` marks the
      // reads whose index is in range by construction.
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
