import { readFileSync } from 'node:fs';

/** One instruction of a Dockerfile, its continuation lines joined. */
export interface DockerfileInstruction {
  keyword: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** A build stage: its FROM, and the instructions up to the next FROM. */
export interface DockerfileStage {
  image: string;
  name?: string;
  instructions: DockerfileInstruction[];
}

export interface Dockerfile {
  text: string;
  stages: DockerfileStage[];
}

/**
 * Reads the instructions of a Dockerfile, enough to assert and replay what its stages do. Not a linter:
 * dockerfile-utils' `validate` is (see dockerfiles.spec.ts). Supports the default escape character only.
 */
export function readDockerfile(path: string): Dockerfile {
  const text = readFileSync(path, 'utf8');
  const stages: DockerfileStage[] = [];
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${path}:${instruction.line}: ${instruction.keyword} before FROM`);
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { text, stages };
}

/** The stage named `name` (`FROM … AS name`); throws naming the Dockerfile's stages when there is none. */
export function stageNamed(dockerfile: Dockerfile, name: string): DockerfileStage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`No stage "${name}" among ${dockerfile.stages.map((other) => other.name).join(', ')}`);
  return stage;
}

/** The instructions of `stage` with this keyword, in order. */
export function instructionsIn(stage: DockerfileStage, keyword: string): DockerfileInstruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The last instruction of `stage` with this keyword (the one Docker applies: CMD, HEALTHCHECK, USER, WORKDIR). */
export function lastIn(stage: DockerfileStage, keyword: string): DockerfileInstruction | undefined {
  return instructionsIn(stage, keyword).at(-1);
}

/** The argv of an exec-form (JSON array) argument list; throws for the shell form. */
export function execForm(args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`Not the exec (JSON array) form: ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`Not an array of strings: ${args}`);
  }
  return parsed;
}

/** The environment `ENV key=value …` instructions set in `stage` (later ones win). */
export function envOf(stage: DockerfileStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructionsIn(stage, 'ENV')) {
    for (const [, key, quoted, plain] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) {
      env[key] = quoted ?? plain;
    }
  }
  return env;
}

/** The command of the stage's HEALTHCHECK (`HEALTHCHECK [--flags] CMD [...]`), exec form. */
export function healthcheckCommand(stage: DockerfileStage): string[] | undefined {
  const healthcheck = lastIn(stage, 'HEALTHCHECK');
  if (!healthcheck) return undefined;
  const match = /^(?:--\S+\s+)*CMD\s+(.*)$/s.exec(healthcheck.args);
  if (!match) throw new Error(`HEALTHCHECK without CMD: ${healthcheck.args}`);
  return execForm(match[1]);
}

function* instructionsOf(text: string): Generator<DockerfileInstruction> {
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const first = lines[index].trim();
    if (first === '' || first.startsWith('#')) continue;
    const line = index + 1;
    let content = first;
    // Docker skips comment and empty lines inside a continued instruction.
    while (content.endsWith('\\') && index + 1 < lines.length) {
      const next = lines[++index].trim();
      if (next !== '' && !next.startsWith('#')) content = `${content.slice(0, -1)} ${next}`;
    }
    if (content.endsWith('\\')) content = content.slice(0, -1);
    const [, keyword, args = ''] = /^(\S+)\s*(.*)$/s.exec(content) ?? [];
    yield { keyword: keyword.toUpperCase(), args: args.trim(), line };
  }
}
