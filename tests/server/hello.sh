#!/usr/bin/env bash
# What make server prints: how to reach the local Parse Server it started.
#   tests/server/hello.sh STATE_DIR/env
set -euo pipefail
# shellcheck disable=SC1090
. "$1"
cat <<TXT
Parse Server 9.10.0 with LiveQuery, on PostgreSQL, for development (make server-stop ends it)
  LiveQuery URL   $PARSE_SERVER_URL
  REST URL        $PARSE_HTTP_URL
  application id  $PARSE_APP_ID
  JavaScript key  $PARSE_JAVASCRIPT_KEY
  client key      $PARSE_CLIENT_KEY
  master key      $PARSE_MASTER_KEY
Classes that deliver LiveQuery events: GameScore, Message, Private, Guarded (the server's
liveQuery.classNames; tests/server/server.js lists them: add yours there and restart).
In your shell:
  export PARSE_SERVER_URL=$PARSE_SERVER_URL PARSE_APP_ID=$PARSE_APP_ID PARSE_JAVASCRIPT_KEY=$PARSE_JAVASCRIPT_KEY
Create an object (your subscription to GameScore sees it):
  curl -X POST -H 'X-Parse-Application-Id: $PARSE_APP_ID' -H 'X-Parse-JavaScript-Key: $PARSE_JAVASCRIPT_KEY' \\
       -H 'Content-Type: application/json' -d '{"playerName":"me","score":1500}' $PARSE_HTTP_URL/classes/GameScore
TXT
