/**
 * The settings a sweep's grid may vary (SweepGridInput, made from the server's
 * SWEEP_AXES), in the order runs are named by, with the form's labels; `kind` is the
 * schema's Int or Float. test/schema-sources.test.ts checks both against the schema;
 * SweepForm.tsx's typecheck, each name against SweepGridInput.
 */
export const GRID = [
  { name: "lr", label: "Learning rate", kind: "float" },
  { name: "beta1", label: "Adam beta1", kind: "float" },
  { name: "batchSize", label: "Batch size", kind: "int" },
  { name: "nz", label: "Latent size (nz)", kind: "int" },
  { name: "ngf", label: "Generator width (ngf)", kind: "int" },
  { name: "ndf", label: "Discriminator width (ndf)", kind: "int" },
  { name: "imageSize", label: "Image size", kind: "int" },
] as const;
