// ESLint (flat config): typescript-eslint recommended, plus the module boundaries of DESIGN.md and ARCHITECTURE.md:
// yard-node/ and icon-agent/ never import each other; protocol/ imports nothing else from the repo; code outside
// yard-node/ or icon-agent/ (scripts/) imports only their public surface, index.ts (tests may reach inside).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const boundary = (dir, forbidden) => ({
  files: [`${dir}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: forbidden.map((f) => ({
          group: [`**/${f}/**`, `**/${f}`],
          message: `${dir}/ must not import ${f}/ (see DESIGN.md: components meet only through protocol/ and the chain)`,
        })),
      },
    ],
  },
});

/** Node runs our TypeScript by stripping types: only erasable syntax (see the rules below). */
const ERASABLE_ONLY = [
  { selector: "TSEnumDeclaration", message: "enums are not erasable: Node's type stripping cannot run them" },
  {
    selector: "TSModuleDeclaration[declare!=true]",
    message: "namespaces are not erasable: Node's type stripping cannot run them",
  },
];

/** Outside a room, only its index.ts: static imports, `export … from`, and `import()` alike. */
const surfaces = (rooms) => ({
  files: ["scripts/**/*.ts", "*.ts"],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: rooms.map((r) => ({
          group: [`**/${r}/**`, `!**/${r}/index.ts`],
          message: `import ${r}/ through ${r}/index.ts, its public surface (ARCHITECTURE.md); export what you need there`,
        })),
      },
    ],
    // (no-restricted-syntax is one setting per file: the erasable-syntax selectors are repeated here)
    "no-restricted-syntax": [
      "error",
      ...ERASABLE_ONLY,
      ...rooms.map((r) => ({
        selector: `ImportExpression > Literal[value=/(^|\\/)${r}\\/(?!index\\.ts$)/]`,
        message: `import ${r}/ through ${r}/index.ts, its public surface (ARCHITECTURE.md); export what you need there`,
      })),
    ],
  },
});

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      ".tools/",
      "artifacts/",
      "cache/",
      "coverage/",
      "types/",
      "protocol/chain/abi.generated.ts",
      "protocol/schema/generated/",
      ".tmp-generated/",
      ".build/",
      // The owner console's built page (console/vite.config.ts).
      "console/dist/",
      // The project's data: set-up logs, the agent image's bundle (.icon/images/agent/), yards' state.
      ".icon/",
      "contracts/ignition/deployments/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unused-expressions": "off",
      // Node runs our TypeScript by stripping types: only erasable syntax (no enums, namespaces, parameter
      // properties). tsc's erasableSyntaxOnly cannot be used because Hardhat's generated types need enums.
      "@typescript-eslint/parameter-properties": ["error", { prefer: "class-property" }],
      "no-restricted-syntax": ["error", ...ERASABLE_ONLY],
    },
  },
  boundary("yard-node", ["icon-agent", "scripts", "test"]),
  boundary("icon-agent", ["yard-node", "scripts", "test"]),
  boundary("protocol", ["yard-node", "icon-agent", "scripts", "test", "contracts"]),
  // The owner console runs in a browser: it reaches the chain and shares protocol/'s browser-safe modules only.
  boundary("console", ["yard-node", "icon-agent", "scripts", "test", "contracts"]),
  {
    files: ["console/src/**/*.ts"],
    languageOptions: {
      globals: {
        window: "readonly",
        document: "readonly",
        fetch: "readonly",
        performance: "readonly",
        Event: "readonly",
        CustomEvent: "readonly",
        HTMLElement: "readonly",
        HTMLFormElement: "readonly",
        HTMLInputElement: "readonly",
        HTMLSelectElement: "readonly",
        Node: "readonly",
      },
    },
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "console/ runs in a browser: no node: modules" },
            {
              group: ["**/protocol/index.ts", "**/protocol/chain/client.ts", "**/protocol/chain/deployment.ts"],
              message:
                "import protocol/'s browser-safe modules one by one (index.ts, client.ts and deployment.ts pull node: modules)",
            },
            ...["yard-node", "icon-agent", "scripts", "test", "contracts"].map((f) => ({
              group: [`**/${f}/**`, `**/${f}`],
              message: `console/ must not import ${f}/ (see ARCHITECTURE.md)`,
            })),
          ],
        },
      ],
    },
  },
  surfaces(["yard-node", "icon-agent"]),
);
