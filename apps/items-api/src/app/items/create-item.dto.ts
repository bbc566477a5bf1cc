import { IsNumber, IsOptional, IsString, Length, Min } from 'class-validator';

/** Body of `POST /api/items`. */
export class CreateItemDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  price?: number;
}
