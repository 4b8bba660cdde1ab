export * from './order';
export * from './order-input';
export * from './contract';
