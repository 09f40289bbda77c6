#!/usr/bin/env bash
# Regenerates migrations/ from src/db/schema (tables) and src/db/sql/*.sql (functions, in file-name order).
# Until the first release the migrations are kept squashed: one for tables, one for functions.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf migrations
npx drizzle-kit generate --name tables >/dev/null
if compgen -G "src/db/sql/*.sql" >/dev/null; then
  npx drizzle-kit generate --custom --name functions >/dev/null
  out=$(ls migrations/0001_*.sql)
  first=1
  for f in src/db/sql/*.sql; do
    [[ $first == 1 ]] || printf '\n--> statement-breakpoint\n' >>"$out"
    cat "$f" >>"$out"
    first=0
  done
fi
ls migrations
