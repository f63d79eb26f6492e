import { Fn, Stack, Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import { SSO_ENV, WEBSERVER_CONFIG, WEBSERVER_CONFIG_PATH } from './webserver-config';
import { isEcsSecret } from '../private/environment-check';
import { isConcreteString, Problems } from '../private/validation';

/** The roles the FAB auth manager creates in every Airflow deployment. */
const BUILT_IN_ROLES = ['Admin', 'Op', 'User', 'Viewer', 'Public'];

/** Sign-in through an OpenID Connect identity provider (Amazon Cognito, Microsoft Entra ID, Okta, Google, Keycloak, ...). */
export interface OidcSingleSignOnOptions {
  /**
   * The provider's issuer URL; its discovery document is `<issuerUrl>/.well-known/openid-configuration`.
   * For Amazon Cognito: `https://cognito-idp.<region>.amazonaws.com/<user pool id>`
   * (`userPool.userPoolProviderUrl`).
   */
  readonly issuerUrl: string;

  /** The client (application) id registered with the provider. */
  readonly clientId: string;

  /**
   * The client secret, from Secrets Manager or SSM Parameter Store; injected into the api-server
   * only, as an ECS secret.
   */
  readonly clientSecret: ecs.Secret;

  /**
   * Which groups get which Airflow role: group name (a value of `rolesClaim` in the ID token) to
   * one of Airflow's built-in roles `Admin`, `Op`, `User`, `Viewer`, `Public`, such as
   * `{ 'airflow-admins': 'Admin', 'data-engineers': 'User' }`. A user in several groups gets
   * every mapped role; roles are synchronized at each login.
   */
  readonly rolesMapping: { [group: string]: string };

  /**
   * The ID token claim that lists the user's groups: `groups` for Okta, Keycloak (with a groups
   * mapper) and Microsoft Entra ID, `cognito:groups` for Amazon Cognito; use `roles` for Entra ID
   * app roles.
   *
   * @default 'groups'
   */
  readonly rolesClaim?: string;

  /**
   * The role of a user none of whose groups is mapped. `Public` lets them sign in without seeing
   * anything.
   *
   * @default 'Public'
   */
  readonly defaultRole?: string;

  /**
   * The scopes requested; `openid` is required.
   *
   * @default ['openid', 'email', 'profile']
   */
  readonly scopes?: string[];

  /**
   * The text of the sign-in button.
   *
   * @default 'Single sign-on'
   */
  readonly label?: string;
}

/** What a single sign-on option gives the api-server. */
interface SingleSignOnSettings {
  readonly environment: { [name: string]: string };
  readonly secrets: { [name: string]: ecs.Secret };
}

/**
 * Single sign-on for the Airflow UI and REST API: the FAB auth manager signs users in through the
 * organization's identity provider and gives them Airflow roles from their groups
 * (`AUTH_ROLES_MAPPING`). The api-server gets a generated `webserver_config.py`.
 */
export abstract class SingleSignOn {
  /**
   * OpenID Connect: any provider with a discovery document. Register the redirect URI
   * `<Airflow URL>/auth/oauth-authorized/oidc` with the provider.
   *
   * @param options the provider, the client and the role mapping
   */
  public static oidc(options: OidcSingleSignOnOptions): SingleSignOn {
    return new OidcSingleSignOn(options);
  }

  /**
   * The api-server's variables and secrets; problems are reported at synth under `scope`.
   * @internal
   */
  public abstract _bind(scope: Construct, problems: Problems): SingleSignOnSettings;
}

class OidcSingleSignOn extends SingleSignOn {
  constructor(private readonly options: OidcSingleSignOnOptions) {
    super();
  }

  public _bind(scope: Construct, problems: Problems): SingleSignOnSettings {
    const o = this.options;
    const rolesClaim = o.rolesClaim ?? 'groups';
    const defaultRole = o.defaultRole ?? 'Public';
    const scopes = o.scopes ?? ['openid', 'email', 'profile'];
    const where = 'singleSignOn (SingleSignOn.oidc)';
    if (o.issuerUrl === undefined || (isConcreteString(o.issuerUrl) && !/^https:\/\/[^/\s]+/.test(o.issuerUrl))) {
      problems.add(`${where}: issuerUrl (${o.issuerUrl === undefined ? 'missing' : `'${o.issuerUrl}'`}) must be the provider's https:// issuer URL, `
        + 'such as https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123 (userPool.userPoolProviderUrl) or https://login.microsoftonline.com/<tenant id>/v2.0');
    }
    if (o.clientId === undefined || (isConcreteString(o.clientId) && o.clientId.trim() === '')) {
      problems.add(`${where}: clientId is ${o.clientId === undefined ? 'missing' : 'empty'}; pass the client (application) id registered with the provider`);
    }
    if (o.clientSecret === undefined || !isEcsSecret(o.clientSecret)) {
      problems.add(`${where}: clientSecret is ${o.clientSecret === undefined ? 'missing' : `a plain ${typeof o.clientSecret}, not an ECS secret`}; `
        + 'store the client secret in Secrets Manager and pass ecs.Secret.fromSecretsManager(secret)');
    }
    const mapping = o.rolesMapping ?? {};
    if (!Token.isUnresolved(mapping) && Object.keys(mapping).length === 0) {
      problems.add(`${where}: rolesMapping is ${o.rolesMapping === undefined ? 'missing' : 'empty'}: no one would get a role; `
        + "map your identity provider's groups to Airflow roles, such as { 'airflow-admins': 'Admin' }");
    }
    for (const [group, role] of Object.entries(mapping)) {
      if (isConcreteString(role) && !BUILT_IN_ROLES.includes(role)) {
        problems.add(`${where}: rolesMapping['${group}'] ('${role}') is not one of Airflow's built-in roles ${BUILT_IN_ROLES.join(', ')}; use one of them`
          + `${closest(role) ? ` (did you mean '${closest(role)}'?)` : ''}`);
      }
    }
    if (isConcreteString(defaultRole) && !BUILT_IN_ROLES.includes(defaultRole)) {
      problems.add(`${where}: defaultRole ('${defaultRole}') is not one of Airflow's built-in roles ${BUILT_IN_ROLES.join(', ')}; use 'Public' (no access) or 'Viewer'`);
    }
    if (isConcreteString(rolesClaim) && rolesClaim.trim() === '') {
      problems.add(`${where}: rolesClaim is empty; pass the ID token claim with the groups, such as 'groups' or 'cognito:groups'`);
    }
    if (!Token.isUnresolved(scopes) && !scopes.includes('openid')) {
      problems.add(`${where}: scopes (${JSON.stringify(scopes)}) lack 'openid': the provider would return no ID token; add 'openid'`);
    }
    return {
      environment: {
        AIRFLOW__FAB__CONFIG_FILE: WEBSERVER_CONFIG_PATH,
        [SSO_ENV.config]: WEBSERVER_CONFIG,
        [SSO_ENV.issuer]: o.issuerUrl ?? '',
        [SSO_ENV.clientId]: o.clientId ?? '',
        [SSO_ENV.scopes]: Token.isUnresolved(scopes) ? Fn.join(' ', scopes) : scopes.join(' '),
        [SSO_ENV.rolesClaim]: rolesClaim,
        [SSO_ENV.rolesMapping]: Stack.of(scope).toJsonString(mapping),
        [SSO_ENV.defaultRole]: defaultRole,
        [SSO_ENV.label]: o.label ?? 'Single sign-on',
      },
      secrets: o.clientSecret !== undefined && isEcsSecret(o.clientSecret) ? { [SSO_ENV.clientSecret]: o.clientSecret } : {},
    };
  }
}

/** The built-in role a misspelled one most likely means (case-insensitive match). */
function closest(role: string): string | undefined {
  return BUILT_IN_ROLES.find(r => r.toLowerCase() === role.trim().toLowerCase());
}
