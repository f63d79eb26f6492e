/**
 * The FAB auth manager's `webserver_config.py` for OpenID Connect sign-in, and how it reaches the
 * api-server: the file is the same for every deployment (the settings come from environment
 * variables), it travels in an environment variable and the api-server's command writes it to
 * `[fab] config_file` before it starts. test/runtime/webserver-config.test.ts runs it with Python.
 */

/** The environment variables the generated configuration reads. */
export const SSO_ENV = {
  config: 'CDK_AIRFLOW_WEBSERVER_CONFIG',
  issuer: 'CDK_AIRFLOW_SSO_ISSUER',
  clientId: 'CDK_AIRFLOW_SSO_CLIENT_ID',
  clientSecret: 'CDK_AIRFLOW_SSO_CLIENT_SECRET',
  scopes: 'CDK_AIRFLOW_SSO_SCOPES',
  rolesClaim: 'CDK_AIRFLOW_SSO_ROLES_CLAIM',
  rolesMapping: 'CDK_AIRFLOW_SSO_ROLES_MAPPING',
  defaultRole: 'CDK_AIRFLOW_SSO_DEFAULT_ROLE',
  label: 'CDK_AIRFLOW_SSO_LABEL',
} as const;

/** Where the api-server's command writes the file (`[fab] config_file`). */
export const WEBSERVER_CONFIG_PATH = '/tmp/cdk-airflow-ecs/webserver_config.py';

/** The name of the OAuth provider in FAB: the callback is `<base URL>/auth/oauth-authorized/oidc`. */
export const OIDC_PROVIDER_NAME = 'oidc';

export const WEBSERVER_CONFIG = `"""FAB auth manager configuration written by cdk-airflow-ecs: OpenID Connect sign-in with role mapping."""
import json
import os

from flask_appbuilder.security.manager import AUTH_OAUTH
from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride

PROVIDER = "${OIDC_PROVIDER_NAME}"
ROLES_CLAIM = os.environ["${SSO_ENV.rolesClaim}"]

AUTH_TYPE = AUTH_OAUTH
# users the identity provider signs in get an Airflow user on their first login ...
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = os.environ["${SSO_ENV.defaultRole}"]
# ... with the roles their groups map to, checked again at every login
AUTH_ROLES_MAPPING = {group: [role] for group, role in json.loads(os.environ["${SSO_ENV.rolesMapping}"]).items()}
AUTH_ROLES_SYNC_AT_LOGIN = True

OAUTH_PROVIDERS = [
    {
        "name": PROVIDER,
        "label": os.environ["${SSO_ENV.label}"],
        "icon": "fa-sign-in",
        "token_key": "access_token",
        "remote_app": {
            "client_id": os.environ["${SSO_ENV.clientId}"],
            "client_secret": os.environ["${SSO_ENV.clientSecret}"],
            "server_metadata_url": os.environ["${SSO_ENV.issuer}"].rstrip("/") + "/.well-known/openid-configuration",
            "client_kwargs": {"scope": os.environ["${SSO_ENV.scopes}"]},
        },
    }
]


def oidc_user_info(claims):
    """The FAB user for the ID token's claims; the user name is the subject, so no one takes over a local user."""
    groups = claims.get(ROLES_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    return {
        "username": PROVIDER + "_" + str(claims["sub"]),
        "email": claims.get("email", ""),
        "first_name": claims.get("given_name", ""),
        "last_name": claims.get("family_name", ""),
        "role_keys": [str(g) for g in groups],
    }


class OidcSecurityManager(FabAirflowSecurityManagerOverride):
    def get_oauth_user_info(self, provider, resp):
        if provider != PROVIDER:
            return super().get_oauth_user_info(provider, resp)
        # Authlib validates the ID token against the provider's keys and puts its claims here
        claims = resp.get("userinfo")
        if not claims or "sub" not in claims:
            raise ValueError("the identity provider returned no ID token claims; is the 'openid' scope granted?")
        return oidc_user_info(claims)


SECURITY_MANAGER_CLASS = OidcSecurityManager
`;

/**
 * The api-server's command with single sign-on: write the configuration, then start as before.
 * `printf '%s'` writes the variable as it is (no escapes interpreted).
 */
export function writeConfigThenRun(command: string[]): string[] {
  const quoted = command.map(a => (/^[A-Za-z0-9_./:=-]+$/.test(a) ? a : `'${a.replace(/'/g, '\'\\\'\'')}'`)).join(' ');
  return ['bash', '-c', [
    'set -euo pipefail',
    'mkdir -p "$(dirname "$AIRFLOW__FAB__CONFIG_FILE")"',
    `printf '%s' "$${SSO_ENV.config}" > "$AIRFLOW__FAB__CONFIG_FILE"`,
    `exec airflow ${quoted}`,
  ].join('\n')];
}
