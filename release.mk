# Signed release of the stage1 image. The Makefile includes this file.
#
#   make release RELEASE_GNUPGHOME=~/.gnupg [RELEASE_KEY=ID]
#   make release RELEASE_KEY_FILE=key.asc [RELEASE_PASSPHRASE_FILE=pass.txt]
#
# It writes $(BINDIR)/stage1-fly.aci.asc, $(BINDIR)/stage1-fly.aci.sha512
# and $(BINDIR)/pubkeys.asc next to the image, after checking that a fresh
# build of this checkout gives the same image bytes. A passphrase comes from
# RELEASE_PASSPHRASE_FILE, or else from the caller's gpg-agent.

RELEASE_GNUPGHOME ?=
RELEASE_KEY ?=
RELEASE_KEY_FILE ?=
RELEASE_PASSPHRASE_FILE ?=

RELEASE_ARGS := --check-reproducible \
	$(if $(RELEASE_GNUPGHOME),--gnupg-home $(RELEASE_GNUPGHOME)) \
	$(if $(RELEASE_KEY),--key $(RELEASE_KEY)) \
	$(if $(RELEASE_KEY_FILE),--key-file $(RELEASE_KEY_FILE)) \
	$(if $(RELEASE_PASSPHRASE_FILE),--passphrase-file $(RELEASE_PASSPHRASE_FILE))

.PHONY: release

release: $(BINDIR)/stage1-fly.aci
	scripts/release $(RELEASE_ARGS) $(BINDIR)/stage1-fly.aci
