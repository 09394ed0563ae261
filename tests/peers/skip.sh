#!/bin/sh
# skip.sh REASON - a peer test whose tool is absent: say why, exit 77 (ctest SKIP).
echo "SKIP: $*"
exit 77
