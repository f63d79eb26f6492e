export * from './airflow-on-ecs';
export * from './common/airflow-component';
export * from './common/airflow-image';
export * from './common/airflow-version';
export * from './common/web-access';
export * from './service/airflow-database-migration';
export * from './service/airflow-service';
export * from './storage/airflow-storage';
