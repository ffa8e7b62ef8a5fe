"""ccm's own OAuth login (ChatGPT Plus/Pro through the Codex CLI's public app) and its token store.

Light on purpose: httpx and the stdlib only, no quart, so the CLI and the TUI log in with the same code
the proxy refreshes with.

    pkce     S256 verifier/challenge and the `state` value
    flow     the login (callback server, pasted redirect, device code), the code exchange and refresh
    tokens   the stored token: one compact JSON in the keyring as `oauth:NAME`
    manager  TokenManager: the proxy's cached, single-flight refreshing source of `Credential`s
"""
