#!/bin/sh
# Creates the namespace the order system uses and registers the search attributes that
# orderWorkflow keeps current. Safe to rerun: an existing namespace is kept, and an attribute that
# already exists with the same type is skipped.
set -eu

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-72h}"
TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
export TEMPORAL_ADDRESS

# Retries a command (the server may still be joining its ring when its port opens).
retry() {
  attempts=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "gave up after ${attempts} attempts: $*" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

retry 60 temporal operator cluster health

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE}: exists"
else
  retry 10 temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION"
fi

retry 15 temporal operator search-attribute create --namespace "$NAMESPACE" \
  --name OrderState --type Keyword \
  --name CustomerId --type Keyword

# The job fails unless both attributes are now registered as Keyword.
registered=$(temporal operator search-attribute list --namespace "$NAMESPACE" --output json)
for name in OrderState CustomerId; do
  if ! echo "$registered" | grep -q "\"${name}\": \"INDEXED_VALUE_TYPE_KEYWORD\""; then
    echo "search attribute ${name} (Keyword) is not registered in namespace ${NAMESPACE}" >&2
    exit 1
  fi
done
echo "namespace ${NAMESPACE}: ready with search attributes OrderState and CustomerId (Keyword)"
