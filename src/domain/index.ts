export * from './order';
export * from './order-rules';
export * from './contract';
