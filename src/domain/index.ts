export * from './order';
export * from './order-input';
export * from './order-rules';
export * from './contract';
