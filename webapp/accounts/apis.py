from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from webapp.accounts import services
from webapp.accounts.models import User
from webapp.accounts.permissions import IsAdmin
from webapp.accounts.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    CredentialsSerializer,
    TokenSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from webapp.core.errors import ServiceError


def _authenticate(request) -> User:
    creds = CredentialsSerializer(data=request.data)
    creds.is_valid(raise_exception=True)
    user = authenticate(request, **creds.validated_data)
    if user is None:
        raise ServiceError("Invalid username or password.", code="invalid_credentials")
    return user


class CsrfApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses={204: None})
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginApi(APIView):
    """Session login for the browser."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=CredentialsSerializer, responses={200: UserSerializer})
    def post(self, request):
        user = _authenticate(request)
        login(request, user)
        return Response(UserSerializer(user).data)


class LogoutApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class TokenApi(APIView):
    """An API token for tools (`Authorization: Token <key>`)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer})
    def post(self, request):
        user = _authenticate(request)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class TokenRevokeApi(APIView):
    """Revoke the caller's API token; the next request with it gets 401."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's personal API tokens (`Authorization: Token rv_…` or `Bearer rv_…`):
    list, create (the key is in the answer, once) and revoke. Scope `read` allows safe
    methods only, anywhere in the API; `full` allows what the user's role allows."""

    serializer_class = ApiTokenSerializer
    lookup_value_regex = r"\d+"
    pagination_class = None
    filter_backends = []
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return services.api_tokens_of(self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(user=request.user, **data.validated_data)
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.api_token_revoke(user=request.user, token_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Admins manage users and their roles."""

    permission_classes = [IsAdmin]
    serializer_class = UserSerializer
    queryset = User.objects.order_by("username")
    filterset_fields = ["role", "is_active"]
    ordering_fields = ["username", "date_joined", "last_login"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=UserCreateSerializer, responses={201: UserSerializer})
    def create(self, request):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request, pk=None):
        data = UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(
            user=self.get_object(), acting=request.user, **data.validated_data
        )
        return Response(UserSerializer(user).data)
