#!/usr/bin/env bash
# trailgate demo: a real session of use against the dev default.
#
# It builds trailgate, starts `bin/trailgate-worker --dev` in the background
# with a fresh data directory (Temporal, its UI, the AWS sandbox and the
# worker, on free ports), waits until `trailgate doctor` is green, and then
# plays the people of a change board on the three sandbox organizations:
# dave requests, alice and bob approve, carol administers CloudTrail. Each
# proves who they are with the AWS profile of their name (--profile), which
# the dev default writes for a sandbox IAM user of theirs.
#
#   1. an enable change in two waves (a canary, then the rest), each wave
#      approved by alice and bob; dave's own approval is refused, and so are
#      an approval sent in alice's name without her proof and one that bob
#      signs while claiming to be alice;
#   2. a disable change that waits for carol's cleanup confirmation before
#      anyone may approve it;
#
# then it prints both change records as Markdown, stops the worker and exits
# 0. Any unexpected answer stops the demo with a non-zero status.
#
# Environment: GO (the go command), TRAILGATE_DEMO_PAUSE (seconds between
# steps, default 1; 0 for none), TRAILGATE_DEMO_KEEP=1 keeps the data
# directory.
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
PAUSE=${TRAILGATE_DEMO_PAUSE:-1}
started=$(date +%s)

if [ -t 1 ]; then
	bold=$'\033[1m' dim=$'\033[2m' cyan=$'\033[36m' green=$'\033[32m' red=$'\033[31m' reset=$'\033[0m'
else
	bold='' dim='' cyan='' green='' red='' reset=''
fi

# say narrates the next step.
say() {
	printf '\n%s%s▸ %s%s\n' "$bold" "$cyan" "$*" "$reset"
	if [ "$PAUSE" != 0 ]; then sleep "$PAUSE"; fi
}

# shown prints a command line as a person would type it.
shown() {
	local arg line=''
	for arg in "$@"; do
		case "$arg" in
		*[[:space:]\'\"\$]*) line+=" \"$arg\"" ;;
		*) line+=" $arg" ;;
		esac
	done
	printf '%s$%s%s\n' "$dim" "$line" "$reset"
}

# trailgate runs the CLI against the demo's dev default, showing the command.
trailgate() {
	shown trailgate "$@"
	bin/trailgate --config "$config" "$@"
}

# refused runs a command that trailgate must refuse with exit status 2.
refused() {
	local status=0
	trailgate "$@" || status=$?
	if [ "$status" -ne 2 ]; then
		printf '%sdemo: expected trailgate to refuse (exit status 2), got exit status %s%s\n' "$red" "$status" "$reset" >&2
		exit 1
	fi
	printf '%s  (refused as it should be: exit status 2)%s\n' "$green" "$reset"
}

# approved_by_alice_and_bob has alice approve change $1 with comment $2,
# then bob, who follows the change to its end.
approved_by_alice_and_bob() {
	trailgate approve "$1" --profile alice --comment "$2"
	trailgate approve "$1" --profile bob --wait
}

fail() {
	printf '%sdemo: %s%s\n' "$red" "$*" "$reset" >&2
	exit 1
}

# free_port prints the first port from $1 on which nothing listens.
free_port() {
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# aws_access shows, through the AWS CLI and the profiles the dev default
# wrote, which service principals each organization trusts; $1 says what
# the demo expects: on or off.
aws_access() {
	if ! command -v aws >/dev/null 2>&1; then
		printf '%s  (the AWS CLI is not installed: skipping its view of the sandbox)%s\n' "$dim" "$reset"
		return
	fi
	local org out endpoint
	endpoint=$(sed -n 's/^ *endpoint_url: *//p' "$config" | head -1)
	for org in acme-prod acme-staging globex; do
		# --endpoint-url is spelled out: older AWS CLIs ignore a profile's.
		shown aws --endpoint-url "$endpoint" --profile "$org-management" organizations list-aws-service-access-for-organization
		out=$(AWS_CONFIG_FILE="$data/aws-config" AWS_SHARED_CREDENTIALS_FILE="$data/aws-credentials" \
			aws --endpoint-url "$endpoint" --profile "$org-management" organizations list-aws-service-access-for-organization \
			--query 'EnabledServicePrincipals[].ServicePrincipal' --output text) ||
			fail "the AWS CLI could not read $org's trusted access"
		printf '  %s: %s\n' "$org" "${out:-(no trusted service)}"
		case "$1:$out" in
		on:*cloudtrail.amazonaws.com*) ;;
		off:*cloudtrail.amazonaws.com*) fail "$org still trusts cloudtrail.amazonaws.com after the disable" ;;
		on:*) fail "$org does not trust cloudtrail.amazonaws.com after the enable" ;;
		esac
	done
	# The organization trail stays either way: a disable stops it for member
	# accounts and leaves it in place, as AWS documents.
	shown aws --endpoint-url "$endpoint" --profile acme-prod-management cloudtrail describe-trails
	out=$(AWS_CONFIG_FILE="$data/aws-config" AWS_SHARED_CREDENTIALS_FILE="$data/aws-credentials" \
		aws --endpoint-url "$endpoint" --profile acme-prod-management cloudtrail describe-trails \
		--query 'trailList[].[Name,IsOrganizationTrail]' --output text) ||
		fail "the AWS CLI could not read acme-prod's trails"
	printf '  acme-prod: %s\n' "${out:-(no trail)}"
	[ -n "$out" ] || fail "acme-prod has no organization trail"
}

# awscli runs the AWS CLI against the sandbox with the dev default's
# profiles, showing the command.
awscli() {
	local endpoint
	endpoint=$(sed -n 's/^ *endpoint_url: *//p' "$config" | head -1)
	shown aws "$@"
	AWS_CONFIG_FILE="$data/aws-config" AWS_SHARED_CREDENTIALS_FILE="$data/aws-credentials" aws --endpoint-url "$endpoint" "$@"
}

# aws_depth shows, through the AWS CLI, what the enable did in acme-prod
# beyond trusted access: the trail found from another region, the delegated
# administrator, CloudTrail's own events naming the change and dave, and the
# least-privilege policy the worker's role carries.
aws_depth() {
	if ! command -v aws >/dev/null 2>&1; then
		printf '%s  (the AWS CLI is not installed: skipping its view of the sandbox)%s\n' "$dim" "$reset"
		return
	fi
	local out role
	out=$(awscli --profile acme-prod-management --region eu-west-1 cloudtrail list-trails --query 'Trails[].[Name,HomeRegion]' --output text) ||
		fail "the AWS CLI could not list acme-prod's trails"
	printf '  %s\n' "$out"
	out=$(awscli --profile acme-prod-management organizations list-delegated-administrators \
		--service-principal cloudtrail.amazonaws.com --query 'DelegatedAdministrators[].Id' --output text) ||
		fail "the AWS CLI could not list acme-prod's delegated administrators"
	printf '  %s\n' "${out:-(none)}"
	[ -n "$out" ] || fail "acme-prod has no CloudTrail delegated administrator after the enable"
	out=$(awscli --profile acme-prod-management cloudtrail lookup-events \
		--lookup-attributes "AttributeKey=Username,AttributeValue=tg-$enable_id" \
		--query "Events[?ReadOnly=='false'].[EventName,Username]" --output text) ||
		fail "the AWS CLI could not look up acme-prod's events"
	printf '%s\n' "$out" | sed 's/^/  /'
	case "$out" in
	*EnableAWSServiceAccess*) ;;
	*) fail "CloudTrail's events do not name the change tg-$enable_id" ;;
	esac
	role=$(sed -n 's/^ *role_arn: *//p' "$config" | head -1)
	out=$(awscli --profile acme-prod-management iam simulate-principal-policy --policy-source-arn "$role" \
		--action-names organizations:EnableAWSServiceAccess organizations:DeleteOrganization \
		--context-entries ContextKeyName=organizations:ServicePrincipal,ContextKeyValues=cloudtrail.amazonaws.com,ContextKeyType=string \
		--query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text) ||
		fail "the AWS CLI could not simulate the worker's role"
	printf '%s\n' "$out" | sed 's/^/  /'
	case "$out" in
	*EnableAWSServiceAccess*allowed*DeleteOrganization*implicitDeny*) ;;
	*) fail "the worker's role is not allowed exactly what trailgate needs" ;;
	esac
}

say "Building bin/trailgate and bin/trailgate-worker"
$GO build -o bin/trailgate ./starter
$GO build -o bin/trailgate-worker ./worker

data=$(mktemp -d "${TMPDIR:-/tmp}/trailgate-demo.XXXXXX")
config="$data/trailgate.yaml"
worker_pid=''
cleanup() {
	local status=$?
	if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
		printf '\n%sStopping the dev default (pid %s)%s\n' "$dim" "$worker_pid" "$reset"
		kill -TERM "$worker_pid" 2>/dev/null || true
		wait "$worker_pid" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ]; then
		printf '%sThe demo failed (exit status %s). The worker log is %s/worker.log.%s\n' "$red" "$status" "$data" "$reset" >&2
	elif [ "${TRAILGATE_DEMO_KEEP:-0}" = 1 ]; then
		printf 'The dev default data is kept in %s.\n' "$data"
	else
		rm -rf "$data"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

temporal_port=$(free_port 7233)
ui_port=$(free_port $((temporal_port == 8233 ? 8234 : 8233)))
sandbox_port=$(free_port 4566)
say "Starting the dev default in the background: Temporal on :$temporal_port, its UI on :$ui_port, the AWS sandbox on :$sandbox_port (data in $data)"
bin/trailgate-worker --dev --dev-data-dir "$data" \
	--dev-temporal-port "$temporal_port" --dev-ui-port "$ui_port" --dev-sandbox-port "$sandbox_port" \
	>"$data/worker.log" 2>&1 &
worker_pid=$!

deadline=$(($(date +%s) + 180))
until [ -f "$config" ] && bin/trailgate --config "$config" doctor >"$data/doctor.log" 2>&1; do
	kill -0 "$worker_pid" 2>/dev/null || { cat "$data/worker.log" >&2; fail "the dev default stopped while starting"; }
	[ "$(date +%s)" -lt "$deadline" ] || { cat "$data/doctor.log" >&2; fail "the dev default was not ready within 180s"; }
	sleep 1
done
trailgate doctor

enable_id="enable-demo-$(date -u +%Y%m%d-%H%M%S)"
disable_id="disable-demo-$(date -u +%Y%m%d-%H%M%S)"

say "dave, an Organizations administrator, first asks what enabling would change. Planning only reads AWS."
trailgate plan enable --all

say "Who am I? Each person's AWS profile proves who they are to the worker, which maps the verified ARN to a person and their roles"
trailgate whoami --profile alice
trailgate whoami --profile carol

say "dave requests the change: canary organization first, then the rest, and every wave needs two approvals"
trailgate enable --all --waves 1,rest --approve-every-wave --change-id "$enable_id" \
	--reason "DEMO-1: organization trail for every member account" --profile dave

say "The change plans each organization of the first wave from live state, then waits for approvers"
trailgate status "$enable_id" --watch --until-gate

say "dave tries to approve his own change with his own proof. The two-person rule refuses, and the change is untouched"
refused approve "$enable_id" --profile dave

say "Someone who can reach Temporal sends an approval in alice's name, without her AWS credentials: a forged approval. The worker refuses it"
( unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; refused approve "$enable_id" --as alice )

say "bob signs with his own credentials but claims to be alice: the proof is bob's, and the worker says so"
refused approve "$enable_id" --profile bob --as alice

say "alice approves the canary wave with her proof; one approval of two"
trailgate approve "$enable_id" --profile alice --comment "canary looks right"

say "bob approves too: the canary organization is enabled and verified, then the second wave plans and waits"
trailgate approve "$enable_id" --profile bob --comment "go" --wait

say "alice and bob approve the second wave; bob follows the change to its end"
approved_by_alice_and_bob "$enable_id" "canary verified"

say "The AWS CLI agrees: every organization trusts CloudTrail, and the organization trail is there"
aws_access on

say "And it shows the rest: the trail from another region, the delegated administrator, CloudTrail's events naming the change, a role allowed only what trailgate needs"
aws_depth

say "Later, dave requests the opposite: disable trusted access on every organization"
trailgate plan disable --all
trailgate disable --all --change-id "$disable_id" --reason "DEMO-2: hand CloudTrail over to another tool" --profile dave

say "A disable first waits for the CloudTrail administrator to confirm that CloudTrail-side cleanup is done"
trailgate status "$disable_id" --watch --until-gate

say "alice cannot approve before carol confirms"
refused approve "$disable_id" --profile alice

say "carol confirms cleanup for every organization, acknowledging what stops: organization trails and delegated administrators"
trailgate confirm-cleanup "$disable_id" --profile carol --acknowledge-member-logging-stops --acknowledge-delegated-administrators \
	--comment "CloudTrail Lake and delegated administrators removed" --wait

say "Now alice and bob approve, and bob follows the change to its end"
approved_by_alice_and_bob "$disable_id" "cleanup confirmed by carol"

say "The AWS CLI agrees: trusted access for CloudTrail is off again; the organization trail remains"
aws_access off

say "Every change is listed, with its phase"
trailgate list

say "The change records, ready to attach to a change ticket: each person with the ARN the worker verified, and the refused attempts"
trailgate record "$enable_id" --format markdown
trailgate record "$disable_id" --format markdown

ui=$(sed -n 's/^ *ui_url: *//p' "$config" | head -1)
say "Done in $(($(date +%s) - started))s. The changes were in the Temporal UI (it stops with the demo; \`make dev\` keeps one running):"
printf '  %s/namespaces/default/workflows/%s\n  %s/namespaces/default/workflows/%s\n' "$ui" "$enable_id" "$ui" "$disable_id"
