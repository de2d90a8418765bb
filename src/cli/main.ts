#!/usr/bin/env node
import { Command } from "commander";
import { addBackendsCommand } from "./backends.js";
import { addGenerateCommand } from "./generate.js";
import { addParityCommand } from "./parity.js";
import { addTrainCommand } from "./train.js";
import { addWorkerCommand } from "./worker.js";
import { runAction } from "./errors.js";

const program = new Command("dcgan")
  .description("DCGAN training with TensorFlow.js: the PyTorch tutorial's loop, on the best backend this machine has")
  .showHelpAfterError();
for (const add of [addTrainCommand, addGenerateCommand, addBackendsCommand, addParityCommand, addWorkerCommand]) add(program, runAction);
await program.parseAsync();
