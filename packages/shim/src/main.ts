#!/usr/bin/env node
/** containerd-shim-kata-v2 */
import { runShim } from './framework/run-shim';
import { KataManager } from './manager';

void runShim(new KataManager());
