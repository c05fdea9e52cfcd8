#!/bin/bash
# One client cannot fill the disk (issue 14, point 1), through the web server.
# An upload for a field the type does not declare is read and dropped, never
# stored; an upload for a text field, or a second one for a one-file field,
# is refused with 400 and leaves nothing.  The web server refuses a body
# over the example config's cap itself (413), before longjob reads any of it,
# and lets one at the cap through.  Then, with a small spool quota
# (max_spool_bytes): an upload that would pass it gets 507 and leaves
# nothing, what handlers write counts too, and the quota is free again once
# the jobs are gone.
. "$(dirname "$0")/lib.sh"
h=$LJ_HANDLERS
lj_write_config
lj_add_type plain "{ \"argv\": [\"$h/silent\"], \"fields\": { \"note\": { \"type\": \"string\", \"max\": 100 } } }"
lj_add_type one "{ \"argv\": [\"$h/silent\"], \"fields\": { \"doc\": { \"type\": \"file\", \"required\": true } } }"
lj_add_type fill "{ \"argv\": [\"$h/writer\", \"2\"] }"
lj_start
S=$LJ_URL/longjob/submit
T=$LJ_TMP/t
mkdir -p "$T"

# The files in the spool (our quota record aside), and the bytes they hold.
spool_files() {
	(cd "$LJ_STATE/spool" && find . ! -name .usage | sort)
}
spool_bytes() {
	du -sb --exclude=.usage "$LJ_STATE/spool" | cut -f1
}
jobs_count() {
	lj_as "$LJ_APP/longjob" list 1000000 | grep -c '^[0-9a-f]\{32\}  '
}
# post WANT "what" TYPE CURL-ARGS...: a submission answered WANT with
# longjob's own JSON (containing $SAYS if set); sets $id when accepted.
post() {
	local want=$1 what=$2 type=$3 code
	shift 3
	id=
	code=$(curl -s -m 60 -o "$T/answer" -w '%{http_code}' -H 'Accept: application/json' \
		"$@" "$S/$type")
	if [ "$want" = 202 ]; then
		[ "$code" = 202 ] && id=$(sed -n 's/.*"id":"\([0-9a-f]\{32\}\)".*/\1/p' "$T/answer") &&
			[ -n "$id" ]
	else
		[ "$code" = "$want" ] && grep -q '^{"status":'"$want"',"error":"[^"]' "$T/answer" &&
			grep -qF -- "${SAYS:-}" "$T/answer"
	fi
	lj_check $? "$what: $code $(head -c 160 "$T/answer")"
}

head -c 2000000 /dev/urandom >"$T/2m"
head -c 1000 /dev/urandom >"$T/1k"

# ---- Uploads for undeclared fields are dropped, never stored.
files0=$(spool_files)
bytes0=$(spool_bytes)
ids=
for i in 1 2 3; do
	post 202 "a 2 MB upload for a field the type does not declare ($i of 3)" plain \
		-F note=hi -F "junk=@$T/2m"
	ids="$ids $id"
done
post 202 "an undeclared 2 MB upload beside the declared one" one -F "doc=@$T/1k" -F "junk=@$T/2m"
kept=$id
for id in $ids $kept; do lj_wait_state "$id" succeeded 20 || lj_check 1 "job $id ended"; done
lj_is "$(cd "$LJ_STATE/spool" && find . -type f -name 'upload-*' | sort)" "./$kept/upload-1" \
	"the one declared upload is the only file stored"
lj_is "$(stat -c %s "$LJ_STATE/spool/$kept/upload-1" 2>/dev/null)" 1000 "and it is the declared one"
grown=$(( $(spool_bytes) - bytes0 ))
[ "$grown" -lt 100000 ]
lj_check $? "four posts with 8 MB of undeclared uploads grew the spool by $grown bytes (< 100 KB)"

# ---- Uploads that cannot be used are refused and leave nothing.
files0=$(spool_files)
jobs0=$(jobs_count)
SAYS="must be text" post 400 "an upload for a text field" plain -F "note=@$T/2m"
SAYS="was sent more than once" post 400 "a second upload for a one-file field" one \
	-F "doc=@$T/2m" -F "doc=@$T/2m"
SAYS="was sent more than once" post 400 "a second upload after a text value" one \
	-F "doc=@$T/1k" -F "doc=text"
lj_is "$(spool_files)" "$files0" "the refused uploads left nothing in the spool"

# ---- The web server caps the body at the largest max_body (the example
# config's cap): lighttpd and Apache's CGI refuse a larger one with 413,
# mod_fcgid with 500 (FcgidMaxRequestLen), before longjob reads any of it.
# Under mod_proxy_fcgi LimitRequestBody has no effect: submit refuses it by
# its length.  Either way none of it is stored.
by=server want=413 what="the example config caps request bodies at the largest max_body"
case $LJ_FRONTEND in
lighttpd*) kb=$(sed -n 's/^[[:space:]]*server.max-request-size[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' \
	"$LJ_TMP/lighttpd.conf" | head -1)
	cap=${kb:+$((kb * 1024))} ;;
apache-cgi) cap=$(sed -n 's/^[[:space:]]*LimitRequestBody[[:space:]]\+\([0-9]*\).*/\1/p' \
	"$LJ_TMP/apache-longjob.conf" | head -1) ;;
apache-fcgid) want=500
	cap=$(sed -n 's/^[[:space:]]*FcgidMaxRequestLen[[:space:]]\+\([0-9]*\).*/\1/p' \
	"$LJ_TMP/apache-longjob.conf" | head -1) ;;
apache-proxy-fcgi) by=submit cap=67108864 what="no cap in front of mod_proxy_fcgi: max_body" ;;
esac
[ -n "$cap" ] && [ "$cap" -le 67108864 ]
lj_check $? "$what: ${cap:-none}"
cap=${cap:-67108864}
truncate -s $((cap + 1048576)) "$T/over"
for how in length chunked; do
	hdr=
	[ $how = chunked ] && hdr='Transfer-Encoding: chunked'
	code=$(curl -s -m 60 -o "$T/answer" -w '%{http_code}' -H 'Accept: application/json' \
		${hdr:+-H "$hdr"} -F "junk=@$T/over" "$S/plain")
	if [ $by = server ]; then
		[ "$code" = $want ] && ! grep -q '"status":' "$T/answer"
	else
		[ "$code" = $want ] && grep -q '^{"status":413,' "$T/answer"
	fi
	lj_check $? "a body 1 MiB over the cap ($how): $want from the $by: $code $(head -c 100 "$T/answer" | tr -d '\n')"
	lj_is "$(spool_files)" "$files0" "and nothing of it reached the spool"
done
lj_is "$(jobs_count)" "$jobs0" "nor the store"
# The cap lets through what longjob takes: a body just under it (and
# under the shipped max_body, 64 MiB), here an undeclared upload.
under=$(( (cap < 67108864 ? cap : 67108864) - 65536 ))
truncate -s "$under" "$T/under"
post 202 "a body of $under bytes, under the cap, reaches longjob" plain -F "junk=@$T/under"
rm -f "$T/over" "$T/under"

# ---- A spool quota of 4 MiB.
lj_config_set max_spool_bytes 4194304
lj_restart_server
head -c 3000000 /dev/urandom >"$T/3m"
head -c 500000 /dev/urandom >"$T/500k"
post 202 "a 3 MB upload under the quota" one -F "doc=@$T/3m"
# Its worker writes into its directory: the picture is taken once it is done.
lj_wait_state "$id" succeeded 30 || lj_check 1 "job $id ended"
files0=$(spool_files)
jobs0=$(jobs_count)
SAYS="storage" post 507 "a second 3 MB upload, which would pass the quota" one -F "doc=@$T/3m"
code=$(curl -s -m 60 -o "$T/page" -w '%{http_code}' -H 'Accept: text/html' -F "doc=@$T/3m" "$S/one")
[ "$code" = 507 ] && grep -q '<h1>507 Insufficient Storage</h1>' "$T/page"
lj_check $? "a browser gets the 507 as a page: $code $(grep '<p>' "$T/page")"
lj_is "$(spool_files)" "$files0" "the refused uploads left nothing in the spool"
lj_is "$(jobs_count)" "$jobs0" "and no job"
post 202 "a 500 KB upload still fits" one -F "doc=@$T/500k"
post 202 "undeclared uploads do not count against the quota" one -F "doc=@$T/1k" -F "junk=@$T/2m"

# What a handler writes counts too: the writer leaves 1.25 MiB, past the
# quota; then jobs are refused (within the few seconds the count may lag).
fid=$(lj_submit fill)
lj_wait_state "$fid" succeeded 30
lj_check $? "a job that writes 1.25 MiB ran"
code=
for _ in $(seq 40); do
	code=$(curl -s -m 20 -o "$T/answer" -w '%{http_code}' -H 'Accept: application/json' \
		-d note=x "$S/plain")
	[ "$code" = 507 ] && break
	sleep 0.5
done
lj_is "$code" 507 "once handlers' files fill the spool, a job without uploads is refused too"

# gc removes the ended jobs, and with them their space.
lj_as "$LJ_APP/longjob" gc --age 0 >/dev/null 2>"$T/gc.err"
lj_check $? "longjob gc --age 0"
for _ in $(seq 20); do
	code=$(curl -s -m 60 -o "$T/answer" -w '%{http_code}' -H 'Accept: application/json' \
		-F "doc=@$T/3m" "$S/one")
	[ "$code" = 202 ] && break
	sleep 0.5
done
lj_is "$code" 202 "with the jobs gone, a 3 MB upload is accepted again"
lj_done
