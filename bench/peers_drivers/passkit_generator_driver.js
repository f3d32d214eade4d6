// Run by bench/peers.py with node: passkit-generator, installed by the bench under var/peers/node.
//
// Reads a JSON plan on stdin: the model directory (our pass's pass.json, images and
// .strings files), the signing files, how many passes to build and where to write one.
// Builds `count` passes as passkit-generator's documentation shows (new PKPass(buffers,
// {wwdr, signerCert, signerKey}, props), getAsBuffer()), after one warm-up pass, and
// prints {"seconds": ..., "count": ...}: the loop alone, not the process start-up.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const plan = JSON.parse(fs.readFileSync(0, "utf-8"));
const { PKPass } = require(path.join(plan.node_prefix, "node_modules", "passkit-generator"));

function filesUnder(directory, prefix = "") {
	const found = {};
	for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
		const name = prefix + entry.name;
		const full = path.join(directory, entry.name);
		if (entry.isDirectory()) Object.assign(found, filesUnder(full, name + "/"));
		else found[name] = fs.readFileSync(full);
	}
	return found;
}

const buffers = filesUnder(plan.model);
const serial = JSON.parse(buffers["pass.json"].toString("utf-8")).serialNumber;
const certificates = {
	wwdr: fs.readFileSync(plan.wwdr_cert),
	signerCert: fs.readFileSync(plan.signer_cert),
	signerKey: fs.readFileSync(plan.signer_key),
};

function build(number) {
	const pass = new PKPass(buffers, certificates, { serialNumber: serial + number });
	return pass.getAsBuffer();
}

fs.writeFileSync(plan.sample, build(0)); // the warm-up, kept to be verified
const began = process.hrtime.bigint();
for (let number = 1; number <= plan.count; number++) build(number);
const seconds = Number(process.hrtime.bigint() - began) / 1e9;
process.stdout.write(JSON.stringify({ seconds, count: plan.count }) + "\n");
