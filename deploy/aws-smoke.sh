#!/usr/bin/env bash
# What only a real account shows, checked in a few minutes (deploy/AWS.md, "Verified how").
# Run it on the manager host: the permissions checked are its instance profile's (EC2's
# --dry-run answers whether a call would be allowed, and changes nothing).
#
#   POOL=prod BUCKET=emc-images-123 PREFIX=images/ NAMESPACE=ElasticMemcache \
#   [TEMPLATE=lt-0123…] [WEB_TEMPLATE=lt-0fed… TARGET_GROUP=arn:aws:elasticloadbalancing:…] [START=1] deploy/aws-smoke.sh
#
# Read-only by default; START=1 also starts one stopped pool member, times pending → running
# and running → stopped, and stops it again. It prints one line per check: ok, FAIL or note.
set -uo pipefail
: "${POOL:?}" "${BUCKET:?}" "${PREFIX=images/}" "${NAMESPACE:=ElasticMemcache}"
ACCOUNT=$(aws sts get-caller-identity --query Account --output text) || exit 2
REGION=${AWS_REGION:-$(aws configure get region)}
failed=0
ok() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failed=1; }
note() { echo "note  $*"; }
dry() { aws ec2 "$@" --dry-run 2>&1 | grep -oE 'DryRunOperation|UnauthorizedOperation' | head -1; }

# S3: a missing key answers 404 only to a caller that may list the whole bucket; the roles get 403.
key="${PREFIX}smoke-$(date +%s)-$$"
echo smoke | aws s3 cp - "s3://$BUCKET/$key" --only-show-errors && ok "s3 put $key" || fail "s3 put $key"
aws s3 rm "s3://$BUCKET/$key" --only-show-errors && ok "s3 delete $key" || fail "s3 delete $key"
status=$(aws s3api head-object --bucket "$BUCKET" --key "$key" 2>&1 | grep -oE '\((403|404)\)' | tr -d '()')
note "s3 missing key answers ${status:-?} (403 is expected for the roles; the store tells it apart by listing the key)"

# CloudWatch: how long a point takes to be readable (the scaler's window ends 120 s back).
now=$(date -u +%s)
aws cloudwatch put-metric-data --namespace "$NAMESPACE" --metric-data \
  "MetricName=SmokeLag,Dimensions=[{Name=Scope,Value=smoke}],Value=1,StorageResolution=1,Timestamp=$(date -u -d @"$now" +%FT%TZ)" \
  && ok "cloudwatch put into $NAMESPACE" || fail "cloudwatch put"
query="[{\"Id\":\"s\",\"MetricStat\":{\"Metric\":{\"Namespace\":\"$NAMESPACE\",\"MetricName\":\"SmokeLag\",\"Dimensions\":[{\"Name\":\"Scope\",\"Value\":\"smoke\"}]},\"Period\":1,\"Stat\":\"Sum\"}}]"
for _ in $(seq 1 60); do
  n=$(aws cloudwatch get-metric-data --metric-data-queries "$query" --start-time "$(date -u -d @$((now - 30)) +%FT%TZ)" \
    --end-time "$(date -u -d @$((now + 1)) +%FT%TZ)" --query 'length(MetricDataResults[0].Values)' --output text)
  [ "${n:-0}" != 0 ] && break
  sleep 5
done
lag=$(( $(date -u +%s) - now ))
[ "${n:-0}" != 0 ] && { [ "$lag" -lt 120 ] && ok "cloudwatch point readable after ${lag}s (< 120 s)" || fail "cloudwatch point took ${lag}s (> the scaler's 120 s lag)"; } || fail "cloudwatch point not readable after ${lag}s"

# EC2: the pool, and what the instance profile may do to it (dry runs change nothing).
ids=$(aws ec2 describe-instances --filters "Name=tag:emc:pool,Values=$POOL" "Name=instance-state-name,Values=stopped" \
  --query 'Reservations[].Instances[].InstanceId' --output text)
one=${ids%%[[:space:]]*}
[ -n "$one" ] && ok "stopped pool members: $(echo "$ids" | wc -w)" || note "no stopped member in pool $POOL: the checks on one are skipped"
if [ -n "$one" ]; then
  [ "$(dry start-instances --instance-ids "$one")" = DryRunOperation ] && ok "may start $one" || fail "may not start pool member $one"
  [ "$(dry delete-tags --resources "$one")" = UnauthorizedOperation ] && ok "may not delete every tag of $one" || fail "DeleteTags without tags is allowed on $one"
  [ "$(dry delete-tags --resources "$one" --tags Key=emc:pool)" = UnauthorizedOperation ] && ok "may not untag emc:pool" || fail "emc:pool can be removed"
fi
other=$(aws ec2 describe-instances --filters "Name=instance-state-name,Values=stopped" \
  --query "Reservations[].Instances[].[InstanceId, Tags[?Key=='emc:pool'].Value | [0]]" --output text | awk -v pool="$POOL" '$2 != pool {print $1; exit}')
[ -n "$other" ] && { [ "$(dry start-instances --instance-ids "$other")" = UnauthorizedOperation ] && ok "may not start $other (outside the pool)" || fail "may start $other outside the pool"; }

# The launch template: what RunInstances will use.
if [ -n "${TEMPLATE:-}" ]; then
  data=$(aws ec2 describe-launch-template-versions --launch-template-id "$TEMPLATE" --versions '$Default' --query 'LaunchTemplateVersions[0].LaunchTemplateData')
  for want in InstanceType SubnetId '"HttpTokens": "required"'; do
    grep -q "$want" <<<"$data" && ok "template $TEMPLATE has $want" || fail "template $TEMPLATE lacks $want"
  done
fi

# The web pool (EMC_WEB_POOL=ec2): its template, a dry-run launch (RunInstances, the tags at launch and
# iam:PassRole of the web role in one), and the target group it registers workers in. ELB has no dry run:
# RegisterTargets and DeregisterTargets are only exercised by the first resize.
if [ -n "${WEB_TEMPLATE:-}" ]; then
  data=$(aws ec2 describe-launch-template-versions --launch-template-id "$WEB_TEMPLATE" --versions '$Default' --query 'LaunchTemplateVersions[0].LaunchTemplateData')
  for want in InstanceType SubnetId IamInstanceProfile '"HttpTokens": "required"' '"InstanceMetadataTags": "enabled"'; do
    grep -q "$want" <<<"$data" && ok "web template $WEB_TEMPLATE has $want" || fail "web template $WEB_TEMPLATE lacks $want"
  done
  [ "$(dry run-instances --launch-template "LaunchTemplateId=$WEB_TEMPLATE" --count 1 \
    --tag-specifications "ResourceType=instance,Tags=[{Key=emc:web-pool,Value=$POOL},{Key=emc:worker,Value=smoke}]")" = DryRunOperation ] \
    && ok "may launch a web worker from $WEB_TEMPLATE (with its instance profile)" || fail "may not launch a web worker from $WEB_TEMPLATE"
fi
if [ -n "${TARGET_GROUP:-}" ]; then
  aws elbv2 describe-target-health --target-group-arn "$TARGET_GROUP" >/dev/null && ok "may read the target health of $TARGET_GROUP" || fail "may not read the target health of $TARGET_GROUP"
  delay=$(aws elbv2 describe-target-group-attributes --target-group-arn "$TARGET_GROUP" \
    --query "Attributes[?Key=='deregistration_delay.timeout_seconds'].Value | [0]" --output text)
  [ -n "$delay" ] && note "deregistration delay ${delay}s: a stopping worker drains at most this long" || fail "may not read the attributes of $TARGET_GROUP"
fi

# Start and stop one member, timing EC2's windows (the provider waits on both).
if [ "${START:-0}" = 1 ] && [ -n "$one" ]; then
  t0=$(date +%s); aws ec2 start-instances --instance-ids "$one" >/dev/null && aws ec2 wait instance-running --instance-ids "$one"
  ok "pending → running in $(( $(date +%s) - t0 ))s"
  t0=$(date +%s); aws ec2 stop-instances --instance-ids "$one" >/dev/null && aws ec2 wait instance-stopped --instance-ids "$one"
  ok "stopping → stopped in $(( $(date +%s) - t0 ))s (a grow meanwhile waits for it)"
fi
note "account $ACCOUNT, region $REGION"
exit $failed
