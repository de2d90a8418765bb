import { describe, expect, it } from "vitest";
import { enumLabel } from "../src/format";

describe("the dashboard's enum labels", () => {
  it("are lower case with hyphens, as the start form and the run's facts write them", () => {
    expect(enumLabel("FASHION_MNIST")).toBe("fashion-mnist");
    expect(enumLabel("IMAGE_FOLDER")).toBe("image-folder");
    expect(enumLabel("AUTO")).toBe("auto");
  });
});
