#!/usr/bin/env bash
# Runs a Ray head node (`ray start --head --block …`) for as long as the process that asked for it
# lives, or until this script gets SIGTERM, then takes down every process of the cluster. Ray's
# workers and agents leave the process group and outlive `ray start`, so they are found by what
# they hold open under the cluster's temp folder (or name on their command line).
#   usage: ray-head.sh <owner pid> <temp dir> <ray> start --head --block ...
owner="$1" temp="$2"
shift 2
"$@" &
head=$!
stopping=
trap 'stopping=1' TERM INT
while [ -z "$stopping" ] && kill -0 "$owner" 2>/dev/null && kill -0 "$head" 2>/dev/null; do sleep 0.5; done
kill -TERM "$head" 2>/dev/null
for _ in 1 2 3 4 5 6; do kill -0 "$head" 2>/dev/null || break; sleep 0.5; done
for proc in /proc/[0-9]*; do
  pid="${proc#/proc/}"
  [ "$pid" = "$$" ] && continue
  if ls -l "$proc/fd" 2>/dev/null | grep -q -- "$temp" || tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -q -- "$temp"; then
    kill -KILL "$pid" 2>/dev/null
  fi
done
rm -rf "$temp"
