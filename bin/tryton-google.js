#!/usr/bin/env node
// The command-line entry runs the compiled sidecar (npm install builds dist/ through "prepare").
import '../dist/src/cli.js';
