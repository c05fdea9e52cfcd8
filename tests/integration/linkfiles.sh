#!/bin/bash
# A handler's files are served only from inside its own directory: result
# opens result/<id>/<name> beneath the spool with no symlink in any
# component and refuses a file with another hard link (404, and a line in
# the error log), and the worker refuses such a `file` line in the first
# place.  Tried here: a symlink to a file outside, hard links to a file
# outside and to the database, a job directory replaced with a symlink
# (by the handler while it runs, and after its end, as a child left behind
# could), and a file replaced with a hard link after the job ended.  A
# plain file is still served.
. "$(dirname "$0")/lib.sh"
out=$LJ_TMP/outside
mkdir -p "$out"
echo "secret from outside" >"$out/secret.txt"
echo "plain from outside" >"$out/plain.txt"
chmod 755 "$out"
chmod 644 "$out"/*
# The handler may hard-link only what its user owns (fs.protected_hardlinks).
[ -n "$LJ_AS" ] && chown -R "$LJ_AS" "$out"
# The store's own file: the SQLite database, or (PostgreSQL has none here)
# the worker's log beside the spool.
own=$LJ_STATE/longjob.db
[ "$LJ_STORE" = postgresql ] && own=$LJ_STATE/worker.log
lj_add_type links "{ \"argv\": [\"$LJ_HANDLERS/escape\", \"links\", \"$out\", \"$own\"] }"
lj_add_type swapdir "{ \"argv\": [\"$LJ_HANDLERS/escape\", \"dir\", \"$out\"] }"
lj_start
R=$LJ_URL/longjob/result

# fetch ID NAME: "status body" of result/ID/NAME (the body's first line).
fetch() {
	curl -s -m 20 -o "$LJ_TMP/body" -w '%{http_code}' "$R/$1/$2"
	echo " $(head -n 1 "$LJ_TMP/body" | LC_ALL=C tr -cd "[:print:]" | head -c 60)"
}

id=$(lj_submit links)
lj_check $? "a job that links files from outside into its directory ($id)"
lj_wait_state "$id" succeeded 30
lj_check $? "it succeeded"
lj_is "$(fetch "$id" plain.txt)" "200 made here" "a plain file of the job is served"
r=$(fetch "$id" link.txt)
lj_is "${r%% *}" 404 "a symlink to a file outside: 404 ($r)"
r=$(fetch "$id" hard.txt)
lj_is "${r%% *}" 404 "a hard link to a file outside: 404 ($r)"
r=$(fetch "$id" db.bin)
lj_is "${r%% *}" 404 "a hard link to ${own##*/}: 404 ($r)"

# After the end: a file the worker took replaced with a hard link to a file outside.
dir=$LJ_STATE/spool/$id
lj_is "$(fetch "$id" later.txt)" "200 made here too" "later.txt is served while it is the job's own"
ln -f "$out/secret.txt" "$dir/later.txt"
r=$(fetch "$id" later.txt)
lj_is "${r%% *}" 404 "later.txt made a hard link to a file outside after the end: 404 ($r)"
grep -qs "hard links, refused" "$LJ_RUN"/*.log
lj_check $? "the refusal is in the server's error log"
# After the end: the job's directory replaced with a symlink to a directory outside.
mv "$dir" "$dir.moved" && ln -s "$out" "$dir"
r=$(fetch "$id" plain.txt)
lj_is "${r%% *}" 404 "the job's directory made a symlink after the end: 404 ($r)"
grep -qs "a symlink in its path, refused" "$LJ_RUN"/*.log
lj_check $? "that refusal is in the server's error log too"

# While it runs: the handler replaces its own directory with a symlink, then names a file.
id=$(lj_submit swapdir)
lj_check $? "a job that makes its directory a symlink to outside ($id)"
lj_wait_state "$id" succeeded 30
lj_check $? "it succeeded"
r=$(fetch "$id" secret.txt)
lj_is "${r%% *}" 404 "its file, reached through the symlinked directory: 404 ($r)"
lj_done
