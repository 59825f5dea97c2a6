# The dom0 scenario steps of the real-Xen suite (busybox sh; dom0-lib.sh comes first).
# Each payload is one that our livepatch-build made from a patch in test/xen/patches;
# test/xen/*.bats read what the hypervisor and dom0 printed.  Steps that must fail are
# named *-refused.

section extra-version
extra before
run upload-01 xen-livepatch upload p01 01-extra-version.livepatch
run list-01 xen-livepatch list
run apply-01 xen-livepatch apply p01
extra applied-01
run revert-01 xen-livepatch revert p01
extra reverted-01
run unload-01 xen-livepatch unload p01
run list-empty xen-livepatch list

section hooks
run upload-hooks xen-livepatch upload hooks 02-hooks.livepatch
run apply-hooks xen-livepatch apply hooks
extra applied-hooks
run revert-hooks xen-livepatch revert hooks
extra reverted-hooks
run unload-hooks xen-livepatch unload hooks

section stack
run upload-s1 xen-livepatch upload s1 03-stack-first.livepatch
run upload-s2 xen-livepatch upload s2 04-stack-second.livepatch
run apply-s2-alone-refused xen-livepatch apply s2
extra after-s2-alone
run apply-s1 xen-livepatch apply s1
extra applied-s1
run apply-s2 xen-livepatch apply s2
extra applied-s2
run list-stack xen-livepatch list
run revert-s1-under-s2-refused xen-livepatch revert s1
extra after-revert-s1-refused
run revert-s2 xen-livepatch revert s2
extra reverted-s2
run revert-s1 xen-livepatch revert s1
extra reverted-s1

section replace
run reapply-s1 xen-livepatch apply s1
run reapply-s2 xen-livepatch apply s2
extra before-replace
run upload-r xen-livepatch upload r 05-replace.livepatch
run replace-r xen-livepatch replace r
extra replaced
run list-replaced xen-livepatch list
run revert-r xen-livepatch revert r
extra reverted-r
run unload-r xen-livepatch unload r
run unload-s2 xen-livepatch unload s2
run unload-s1 xen-livepatch unload s1

section expectations
run upload-expect-ok xen-livepatch upload eok 06-expect-holds.livepatch
run apply-expect-ok xen-livepatch apply eok
extra applied-expect-ok
run revert-expect-ok xen-livepatch revert eok
run unload-expect-ok xen-livepatch unload eok
run upload-expect-bad xen-livepatch upload ebad 07-expect-fails.livepatch
run apply-expect-bad-refused xen-livepatch apply ebad
extra after-expect-bad
run unload-expect-bad xen-livepatch unload ebad

section new-function
run upload-newfn xen-livepatch upload nf 08-new-function.livepatch
run apply-newfn xen-livepatch apply nf
extra applied-newfn
run revert-newfn xen-livepatch revert nf
extra reverted-newfn
run unload-newfn xen-livepatch unload nf

section same-static
run upload-static-a xen-livepatch upload sa 09-static-a.livepatch
run upload-static-b xen-livepatch upload sb 10-static-b.livepatch
run list-static xen-livepatch list
run apply-static-a xen-livepatch apply sa
extra applied-static-a
run revert-static-a xen-livepatch revert sa
changeset before-static-b
run apply-static-b xen-livepatch apply sb
changeset applied-static-b
run revert-static-b xen-livepatch revert sb
changeset reverted-static-b
run unload-static-a xen-livepatch unload sa
run unload-static-b xen-livepatch unload sb

section nop
minor before-nop
run upload-nop xen-livepatch upload nop 11-nop.livepatch
run apply-nop xen-livepatch apply nop
minor applied-nop
run revert-nop xen-livepatch revert nop
minor reverted-nop
run unload-nop xen-livepatch unload nop

section signed
run upload-signed xen-livepatch upload signed 13-signed.livepatch
run apply-signed xen-livepatch apply signed
extra applied-signed
run revert-signed xen-livepatch revert signed
extra reverted-signed
run unload-signed xen-livepatch unload signed
