#!/bin/bash
# Steps: a declared step's label comes from the config when it has one,
# else from the handler's step line, else its id; a job has at most
# max_steps steps (100 by default, a type may set its own), and a step line
# past that becomes one log line, not a new step.
. "$(dirname "$0")/lib.sh"
h=$LJ_HANDLERS
lj_add_type labels "{ \"argv\": [\"$h/labels\"], \"steps\": [\"UPLOADING_AREA\", { \"id\": \"b\", \"label\": \"Config label for b\" }, \"later\"] }"
lj_add_type many "{ \"argv\": [\"$h/steps\", \"150\"] }"
lj_add_type few "{ \"argv\": [\"$h/steps\", \"12\"], \"max_steps\": 5, \"steps\": [\"s2\", \"s1\"] }"
lj_start

# The labels of the job's steps, in order, one line each (from `longjob show`).
labels() {
	"$LJ_BIN/longjob" show "$1" | sed -n 's/^      "label": "\(.*\)",$/\1/p'
}
# The step events of a stream as "id label", one line each.
step_events() {
	grep '	step	' "$1" | sed 's/.*{"step":"\([^"]*\)","label":"\([^"]*\)".*/\1 \2/'
}

id=$(lj_submit labels)
lj_check $? "a job with declared steps, some without a label, submitted"
lj_stream "$id" "$LJ_TMP/l" -l 0
lj_is "$(tail -1 "$LJ_TMP/l/0.events" | cut -f2,3)" 'end	{"state":"succeeded","result":{}}' "it succeeded"
lj_is "$(step_events "$LJ_TMP/l/0.events" | tr '\n' '|')" \
	"UPLOADING_AREA Uploading area|b Config label for b|c Handler label for c|UPLOADING_AREA Uploading area|" \
	"step events: the handler's label for a declared step without one, the config's over the handler's, the handler's for a new step, kept when a step line gives none"
lj_is "$(labels "$id" | tr '\n' '|')" "Uploading area|Config label for b|later|Handler label for c|" \
	"the job's steps: the same labels, and the id for a step that never ran"
grep '	state	' "$LJ_TMP/l/0.events" | head -1 | grep -q '{"id":"later","label":"later","status":"pending"}'
lj_check $? "a pending step without a label shows its id in the first state"

# 150 distinct steps under the default max_steps (100).
id=$(lj_submit many)
lj_stream "$id" "$LJ_TMP/m" -l 0
lj_is "$(tail -1 "$LJ_TMP/m/0.events" | cut -f2,3)" 'end	{"state":"succeeded","result":{}}' "a job with 150 step lines succeeded"
lj_is "$(grep -c '	step	' "$LJ_TMP/m/0.events")" 100 "100 of them became steps (max_steps' default)"
lj_is "$(labels "$id" | wc -l)" 100 "the job has 100 steps"
lj_is "$(labels "$id" | tail -1)" "Step 100" "the first 100"
lj_is "$(grep '	log	' "$LJ_TMP/m/0.events" | cut -f3 | tr '\n' '|')" \
	'{"line":"handler: step s101 ignored: more than 100 steps"}|' "the first step past it is one log line; the rest say nothing"

# A type's own max_steps counts its declared steps.
id=$(lj_submit few)
lj_stream "$id" "$LJ_TMP/f" -l 0
lj_is "$(labels "$id" | tr '\n' '|')" "Step 2|Step 1|Step 3|Step 4|Step 5|" "max_steps 5 with two declared steps (in their order): three more"
lj_is "$(grep '	log	' "$LJ_TMP/f/0.events" | cut -f3 | tr '\n' '|')" \
	'{"line":"handler: step s6 ignored: more than 5 steps"}|' "and then a log line"
lj_is "$(tail -1 "$LJ_TMP/f/0.events" | cut -f2,3)" 'end	{"state":"succeeded","result":{}}' "the job succeeded"
lj_done
