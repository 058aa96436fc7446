// Parse SDL files with Akash's own parser (@akashnetwork/chain-sdk) and print, per file, what it made of
// them: the placement groups with their requirements and resources, or the parser's error.
//
// chain-sdk 1.0.0-alpha.25, the newest release on npm, predates AEP-83's `params.tee` (the Go parser and
// the Console accept it): a document it rejects for that field alone is parsed again without it, and the
// answer says so (`tee_unknown_to_parser`), so the test can still check everything else in it.
import fs from "node:fs";
import { SDL } from "@akashnetwork/chain-sdk";

const TEE_ONLY = /^Additional property "tee" is not allowed at "\/services\/[^"]+\/params"\.?$/;

function parse(text) {
  const sdl = SDL.fromString(text, "beta3", "mainnet");
  const groups = sdl.groups().map((g) => ({
    name: g.name,
    requirements: (g.requirements?.attributes ?? []).map((a) => [a.key, a.value]),
    signed_by: { all_of: g.requirements?.signedBy?.allOf ?? [], any_of: g.requirements?.signedBy?.anyOf ?? [] },
    resources: g.resources.map((r) => ({
      count: r.count,
      price: { denom: r.price.denom, amount: r.price.amount },
      gpu_units: Number(new TextDecoder().decode(r.resource.gpu.units.val)),
      gpu_attributes: (r.resource.gpu.attributes ?? []).map((a) => [a.key, a.value]),
    })),
  }));
  const manifest = sdl.manifest();
  return { groups, services: manifest.flatMap((g) => g.services.map((s) => s.name)) };
}

const out = {};
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  try {
    out[file] = { ok: true, tee_unknown_to_parser: false, ...parse(text) };
  } catch (e) {
    const message = String(e?.message ?? e);
    if (!TEE_ONLY.test(message)) {
      out[file] = { ok: false, error: message };
      continue;
    }
    const yaml = await import("js-yaml");
    const data = yaml.load(text);
    for (const svc of Object.values(data.services ?? {})) {
      if (svc.params) {
        delete svc.params.tee;
        if (Object.keys(svc.params).length === 0) delete svc.params;
      }
    }
    try {
      out[file] = { ok: true, tee_unknown_to_parser: true, ...parse(yaml.dump(data)) };
    } catch (e2) {
      out[file] = { ok: false, error: String(e2?.message ?? e2) };
    }
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
