#!/usr/bin/env bash
# Regenerates migrations/ from src/db/schema (tables) and the SQL files (functions, indexes) of the ledger
# (src/budget/sql) and the rest (src/db/sql), all in the order of their file names.
# Until the first release the migrations are kept squashed: one for tables, one for functions.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf migrations
npx drizzle-kit generate --name tables >/dev/null
sql_files=$(ls src/budget/sql/*.sql src/db/sql/*.sql 2>/dev/null | awk -F/ '{ print $NF "\t" $0 }' | sort | cut -f2)
if [[ -n $sql_files ]]; then
  npx drizzle-kit generate --custom --name functions >/dev/null
  out=$(ls migrations/0001_*.sql)
  first=1
  for f in $sql_files; do
    [[ $first == 1 ]] || printf '\n--> statement-breakpoint\n' >>"$out"
    cat "$f" >>"$out"
    first=0
  done
fi
ls migrations
