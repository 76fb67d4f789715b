"""HTTP routes of the auth service: parse, authorise, call the service."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import repository
from koepon.auth.devmailbox import NOTICE, from_this_machine, refused
from koepon.auth.errors import UserNotFound
from koepon.auth.mail import DevMailbox
from koepon.auth.schemas import (
    AdminUserOut,
    BirthdateChangeIn,
    BirthdateChangeOut,
    CoolingOffIn,
    LimitsIn,
    LimitsOut,
    LoginIn,
    LogoutIn,
    MailOut,
    MeOut,
    PasswordResetConfirmIn,
    PasswordResetRequestIn,
    RefreshIn,
    RolesIn,
    SignupIn,
    SuspensionIn,
    TokenPair,
    UserOut,
    VerifyEmailIn,
)
from koepon.auth.service import AuthService
from koepon.contracts.auth import (
    AccountNotFound,
    DisplayName,
    SessionState,
    SpendingProfile,
    VerifiedEmail,
)
from koepon.kernel.internal import internal_guard
from koepon.kernel.routers import attach
from koepon.kernel.runtime import Runtime
from koepon.kernel.tokens import Principal

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def no_store(response: Response) -> None:
    """Tokens and personal data must not be kept by browsers or proxies (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def build_routers(
    runtime: Runtime, service: AuthService, mailbox: DevMailbox | None
) -> tuple[APIRouter, APIRouter]:
    """The public router and the internal (service-to-service) router."""
    db = service.db
    authn = runtime.authenticator
    Session = Annotated[AsyncSession, Depends(db.session_dependency, scope="function")]

    async def signed_in(principal: Annotated[Principal, Depends(authn.user)]) -> Principal:
        return await service.require_session(principal)

    def staff(*roles: str):  # type: ignore[no-untyped-def]
        async def dependency(
            principal: Annotated[Principal, Depends(authn.roles(*roles))],
        ) -> Principal:
            return await service.require_session(principal)

        return dependency

    SignedIn = Annotated[Principal, Depends(signed_in)]
    Support = Annotated[Principal, Depends(staff("support", "admin"))]
    Admin = Annotated[Principal, Depends(staff("admin"))]

    router = APIRouter()
    private = [Depends(no_store)]
    auth = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=private)

    @auth.post("/signup", status_code=201, response_model=UserOut)
    async def signup(body: SignupIn, session: Session) -> UserOut:
        return await service.signup(
            session,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            birthdate=body.birthdate,
        )

    @auth.post("/login", response_model=TokenPair)
    async def login(body: LoginIn, request: Request, session: Session) -> TokenPair:
        ip = request.client.host if request.client else ""
        return await service.login(session, email=body.email, password=body.password, ip=ip)

    @auth.post("/refresh", response_model=TokenPair)
    async def refresh(body: RefreshIn) -> TokenPair:
        return await service.refresh(refresh_token=body.refresh_token)

    @auth.post("/logout", status_code=204)
    async def logout(
        principal: Annotated[Principal, Depends(authn.user)],
        session: Session,
        body: LogoutIn | None = None,
    ) -> Response:
        await service.logout(
            session, principal=principal, refresh_token=body.refresh_token if body else None
        )
        return Response(status_code=204)

    @auth.post("/verify-email", status_code=204)
    async def verify_email(body: VerifyEmailIn, session: Session) -> Response:
        await service.verify_email(session, token=body.token)
        return Response(status_code=204)

    @auth.post(
        "/verify-email/request",
        status_code=202,
        response_class=Response,
        responses={202: {"description": "A verification mail is on its way (no body)"}},
    )
    async def request_verification(principal: SignedIn, session: Session) -> Response:
        await service.request_verification(session, user_id=principal.user_id)
        return Response(status_code=202)

    # Accepted with no body whether or not the address has an account (no account probing).
    @auth.post(
        "/password-reset/request",
        status_code=202,
        response_class=Response,
        responses={202: {"description": "If the address has an account, a reset mail is sent"}},
    )
    async def request_password_reset(body: PasswordResetRequestIn, session: Session) -> Response:
        await service.request_password_reset(session, email=body.email)
        return Response(status_code=202)

    @auth.post("/password-reset/confirm", status_code=204)
    async def confirm_password_reset(body: PasswordResetConfirmIn, session: Session) -> Response:
        await service.confirm_password_reset(
            session, token=body.token, new_password=body.new_password
        )
        return Response(status_code=204)

    me = APIRouter(prefix="/api/v1/me", tags=["me"], dependencies=private)

    @me.get("", response_model=MeOut)
    async def read_me(principal: SignedIn, session: Session) -> MeOut:
        return await service.me(session, user_id=principal.user_id)

    @me.get("/limits", response_model=LimitsOut)
    async def read_limits(principal: SignedIn, session: Session) -> LimitsOut:
        return await service.limits(session, user_id=principal.user_id)

    @me.put("/limits", response_model=LimitsOut)
    async def set_limits(body: LimitsIn, principal: SignedIn, session: Session) -> LimitsOut:
        return await service.set_limits(
            session,
            user_id=principal.user_id,
            monthly_purchase_cap_jpy=body.monthly_purchase_cap_jpy,
            monthly_draw_cap_medals=body.monthly_draw_cap_medals,
        )

    @me.post("/cooling-off", response_model=LimitsOut)
    async def cooling_off(body: CoolingOffIn, principal: SignedIn, session: Session) -> LimitsOut:
        return await service.start_cooling_off(session, user_id=principal.user_id, days=body.days)

    admin = APIRouter(prefix="/api/v1/admin/users", tags=["admin"], dependencies=private)

    @admin.get("/{user_id}", response_model=AdminUserOut)
    async def admin_user(user_id: str, _: Support, session: Session) -> AdminUserOut:
        return await service.admin_user(session, user_id=user_id)

    @admin.put("/{user_id}/birthdate", response_model=BirthdateChangeOut)
    async def change_birthdate(
        user_id: str, body: BirthdateChangeIn, principal: Support, session: Session
    ) -> BirthdateChangeOut:
        return await service.change_birthdate(
            session,
            user_id=user_id,
            birthdate=body.birthdate,
            reason=body.reason,
            changed_by=principal.user_id,
        )

    @admin.post("/{user_id}/suspend", response_model=AdminUserOut)
    async def suspend(
        user_id: str, body: SuspensionIn, principal: Support, session: Session
    ) -> AdminUserOut:
        return await service.suspend(
            session, user_id=user_id, reason=body.reason, operator=principal
        )

    @admin.post("/{user_id}/reinstate", response_model=AdminUserOut)
    async def reinstate(
        user_id: str, body: SuspensionIn, principal: Support, session: Session
    ) -> AdminUserOut:
        return await service.reinstate(
            session, user_id=user_id, reason=body.reason, operator=principal
        )

    @admin.put("/{user_id}/roles", response_model=AdminUserOut)
    async def set_roles(
        user_id: str, body: RolesIn, principal: Admin, session: Session
    ) -> AdminUserOut:
        return await service.set_roles(
            session, user_id=user_id, roles=list(body.roles), changed_by=principal.user_id
        )

    @router.get("/.well-known/jwks.json", tags=["auth"])
    async def jwks(response: Response) -> dict[str, object]:
        response.headers["Cache-Control"] = "public, max-age=300"
        return service.jwks()

    attach(router, auth)
    attach(router, me)
    attach(router, admin)

    if mailbox is not None:

        async def mailbox_reader(
            request: Request, principal: Annotated[Principal | None, Depends(authn.optional)]
        ) -> None:
            if from_this_machine(request):
                return
            if principal is None or not principal.has_any("admin"):
                raise refused()
            await service.require_session(principal)

        dev = APIRouter(
            prefix="/dev",
            tags=["dev"],
            include_in_schema=False,
            dependencies=[Depends(mailbox_reader), *private],
        )

        @dev.get("/mailbox.json", response_model=list[MailOut])
        async def mailbox_json(to: str | None = Query(None, max_length=254)) -> list[MailOut]:
            return [_mail_out(entry) for entry in await mailbox.latest(to=to)]

        @dev.get("/mailbox", response_class=HTMLResponse)
        async def mailbox_page(request: Request) -> HTMLResponse:
            mails = [_mail_out(entry) for entry in await mailbox.latest()]
            context = {"mails": mails, "notice": NOTICE}
            return TEMPLATES.TemplateResponse(request, "dev_mailbox.html", context)

        attach(router, dev)

    internal = APIRouter(
        prefix="/internal/auth",
        dependencies=[Depends(internal_guard(runtime.settings))],
        tags=["internal"],
    )

    @internal.get("/users/{user_id}/spending-profile", response_model=SpendingProfile)
    async def spending_profile(user_id: str, session: Session) -> SpendingProfile:
        try:
            return await service.spending_profile(session, user_id=user_id)
        except AccountNotFound as exc:
            raise UserNotFound("No such user") from exc

    # The VTuber service matches team invitations against the account's verified address.
    @internal.get("/users/{user_id}/verified-email", response_model=VerifiedEmail)
    async def verified_email(user_id: str, session: Session) -> VerifiedEmail:
        user = await repository.user_by_id(session, user_id)
        verified = user is not None and user.email_verified_at is not None
        return VerifiedEmail(email=user.email if user is not None and verified else None)

    # The gateway shows it on a VTuber's stream overlay for a fan who opted in.
    @internal.get("/users/{user_id}/display-name", response_model=DisplayName)
    async def display_name(user_id: str, session: Session) -> DisplayName:
        return DisplayName(display_name=await service.display_name(session, user_id=user_id))

    # The gateway asks here when the cache lost its copy of a session (a Redis restart); the
    # answer comes from the database and puts a live session back into the cache.
    @internal.get("/sessions/{session_id}", response_model=SessionState)
    async def session_state(
        session_id: str,
        user_id: Annotated[str, Query(min_length=1, max_length=64)],
    ) -> SessionState:
        return SessionState(alive=await service.sessions.alive(session_id, user_id))

    return router, internal


def _mail_out(entry) -> MailOut:  # type: ignore[no-untyped-def]
    return MailOut(
        id=entry.id,
        to=entry.to_address,
        subject=entry.subject,
        body=entry.body,
        delivered_at=entry.delivered_at,
    )
