"""The worker's pjsua2 accounts: the local one, one per outbound proxy, registrations.

- The **local** account receives every incoming call and places calls that name no
  proxy and no account.
- A **proxy** account exists per outbound proxy a ``dial`` names (in practice one: the
  edge). pjsip sends a call along its account's route set; a Route header merely
  added to the INVITE is carried but never used to pick the next hop.
- A **registered** account (``register``: the trunk registration) sends REGISTERs and
  may place calls (``dial.account``).

PJSUA_MAX_ACC is 8 in the wheel and the 9th account aborts the process, so proxy and
registered accounts together are capped at ``WorkerConfig.max_registrations`` (5).
Everything here runs on the owner thread.
"""

from __future__ import annotations

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadArgs, CapacityExceeded
from gateway.sip.endpoint import AccountListener, GatewayAccount, WorkerConfig, account_config
from gateway.sip.pjerrors import PJ_ERROR, describe


class Accounts:
    def __init__(self, cfg: WorkerConfig, listener: AccountListener) -> None:
        self._cfg = cfg
        self._listener = listener
        self._local: GatewayAccount | None = None
        self._proxies: dict[str, GatewayAccount] = {}  # proxy URI -> account
        self._registered: dict[str, GatewayAccount] = {}  # account name -> account

    def _local_id(self) -> str:
        return f"sip:{self._cfg.worker_id}@{self._cfg.advertised}:{self._cfg.sip_port}"

    def create_local(self) -> None:
        acc = GatewayAccount(self._listener, "")
        acc.create(account_config(self._cfg, self._local_id()), True)
        self._local = acc

    def is_local(self, acc: GatewayAccount) -> bool:
        return acc is self._local

    def for_dial(self, account: str | None, proxy: str | None) -> GatewayAccount:
        """The account a ``dial`` is placed from (raises ``BadArgs``)."""
        wid = self._cfg.worker_id
        if account:
            acc = self._registered.get(account)
        elif proxy:
            try:
                acc = self._proxy(proxy)
            except PJ_ERROR as exc:
                raise BadArgs(wid, f"proxy {proxy!r}: {describe(exc)}") from None
        else:
            acc = self._local
        if acc is None:
            raise BadArgs(wid, f"no account {account!r}")
        return acc

    def _proxy(self, proxy: str) -> GatewayAccount:
        acc = self._proxies.get(proxy)
        if acc is None:
            if len(self._registered) + len(self._proxies) >= self._cfg.max_registrations:
                raise BadArgs(self._cfg.worker_id, f"no account left for proxy {proxy!r}")
            route = proxy if proxy.startswith("<") or ";lr" in proxy else f"{proxy};lr"
            acc = GatewayAccount(self._listener, "")
            acc.create(account_config(self._cfg, self._local_id(), proxy=route), True)
            self._proxies[proxy] = acc
        return acc

    def register(self, c: p.Register) -> bool:
        """Create or replace a registering account; True if it replaced one."""
        cfg = account_config(
            self._cfg,
            c.id_uri,
            registrar=c.registrar,
            username=c.username,
            password=c.password,
            realm=c.realm,
            contact=c.contact,
            proxy=c.proxy,
            expires=c.expires,
        )
        acc = self._registered.get(c.account)
        if acc is not None:
            acc.modify(cfg)
            # A modify with unchanged settings sends nothing, so no registration state would
            # follow: a control plane that adopted this worker (or re-sent the command) must
            # hear the account's state, so REGISTER now.
            acc.setRegistration(True)
            return True
        if len(self._registered) >= self._cfg.max_registrations:
            raise CapacityExceeded(self._cfg.worker_id, "too many registrations on this worker")
        acc = GatewayAccount(self._listener, c.account)
        acc.create(cfg)
        self._registered[c.account] = acc
        return False

    def unregister(self, name: str) -> None:
        acc = self._registered.pop(name, None)
        if acc is None:
            raise BadArgs(self._cfg.worker_id, f"no account {name!r}")
        acc.shutdown()  # sends REGISTER with Expires: 0

    def shutdown(self) -> None:
        """Drop every account (teardown, before libDestroy)."""
        for acc in [*self._registered.values(), *self._proxies.values()]:
            acc.shutdown()
        self._registered.clear()
        self._proxies.clear()
        if self._local is not None:
            self._local.shutdown()
            self._local = None
