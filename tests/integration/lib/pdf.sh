# PDF writing for the tests and the fuzz seeds (sourced by
# tests/integration/pdf_sign.sh and tests/fuzz/make_pdf_seeds.sh): small
# PDFs written byte by byte, and incremental updates as an attacker's tool
# would append them.
# mkpdf OUT BODY...: a PDF written here (object i = BODY i, 1 = catalog)
mkpdf() {
  local out=$1; shift
  local n=$# i=1 offs=() body x
  printf '%%PDF-1.7\n%%\342\343\317\323\n' >"$out"
  for body in "$@"; do
    offs+=("$(stat -c %s "$out")")
    printf '%d 0 obj\n%s\nendobj\n' "$i" "$body" >>"$out"
    i=$((i+1))
  done
  x=$(stat -c %s "$out")
  { printf 'xref\n0 %d\n0000000000 65535 f \n' $((n+1))
    for o in "${offs[@]}"; do printf '%010d 00000 n \n' "$o"; done
    printf 'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' $((n+1)) "$x"; } >>"$out"
}
# stream DATA [DICT ENTRIES]: the body of a stream object
stream() { printf '<< /Length %d %s >>\nstream\n%s\nendstream' "${#1}" "${2:-}" "$1"; }
# update FILE ID BODY [ID BODY ...]: append an incremental update that
# (re)defines those objects, as an attacker's tool would
update() {
  local f=$1; shift
  local prev size root ids=() offs=() x
  prev=$(tail -c 64 "$f" | grep -a -A1 startxref | tail -1 | tr -d '\r')
  size=$(grep -a -o '/Size [0-9]*' "$f" | tail -1 | cut -d' ' -f2)
  root=$(grep -a -o '/Root [0-9]* [0-9]* R' "$f" | tail -1)
  while [ $# -gt 0 ]; do
    offs+=("$(stat -c %s "$f")"); ids+=("$1")
    printf '%d 0 obj\n%s\nendobj\n' "$1" "$2" >>"$f"
    [ "$1" -ge "$size" ] && size=$(($1+1))
    shift 2
  done
  x=$(stat -c %s "$f")
  { printf 'xref\n'
    for k in "${!ids[@]}"; do printf '%d 1\n%010d 00000 n \n' "${ids[$k]}" "${offs[$k]}"; done
    printf 'trailer\n<< /Size %d %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n' "$size" "$root" "$prev" "$x"; } >>"$f"
}
# the n-th (1-based) signature's ByteRange and the offset of its /Contents
br_of() { grep -a -o '/ByteRange \[[0-9 ]*\]' "$1" | sed -n "${2}p" | tr -d '/ByteRange[]'; }
